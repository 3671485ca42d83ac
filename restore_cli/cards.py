"""Model cards: one small TOML file per pretrained model, parsed into a frozen :class:`ModelCard`.

The cards are the catalog's data (style.md §1: they play the part of timm's ``default_cfgs``): the
task a model serves and its parameter (scale, noise level, JPEG quality), the official architecture
class and constructor kwargs, where the weights live (in order of preference), checksums where known,
licence, paper and the paper's reported numbers. Adding a model is adding a card.

Where cards come from, in this order:

1. the packaged catalog: ``restore_cli/_cards/`` in an installed wheel (pyproject force-includes the
   repository's ``models/`` there), else ``<repo>/models/`` in a development or editable checkout;
2. the user's cards folder, :attr:`restore_cli.config.Settings.cards_dir`
   (``$RESTORE_HOME/cards`` or ``~/.config/restore/cards``), for fine-tuned weights;
3. files named explicitly (``--model-card FILE``).

Ids are unique across all three: a user card cannot silently replace a packaged one. A user or
explicit card marked ``default = true`` takes precedence over the packaged default for its task.

Card schema (unknown keys are errors, so typos are caught)::

    id = "mambairv2-base-x4"          # [a-z0-9][a-z0-9._-]*
    name = "MambaIRv2 Base, classic SR x4"
    task = "sr"                       # sr, denoise, jpeg, realdenoise, realsr, derain, deblur
    scale = 4                         # sr/realsr: required; others: output/input size, default 1
    sigma = 15                        # denoise: required (noise level on 0..255)
    quality = 40                      # jpeg: required (JPEG quality 1..100)
    default = true                    # serves (task, parameter) when no model is named
    variant = "v2-base"               # short name for `--model` (classic, light, v2-base, ...)
    license = "Apache-2.0"
    bundled = "restore-sr-x4.safetensors"   # weights shipped in restore_cli/weights/ (no sources)
    notes = "..."
    [paper]   title = "...", arxiv = "2411.15269"
    [arch]    class = "MambaIRv2"   [arch.kwargs] ...official constructor kwargs...
    [[sources]]  repo_id, filename, revision = "main"   | url   | path   (+ sha256, size, confirmed)
    [[metrics]]  benchmark, psnr, ssim, convention, source
    [training]   free-form provenance of models trained with `restore train` (kept, not interpreted)
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .errors import ModelCardError

if TYPE_CHECKING:
    from .config import Settings

TASKS: tuple[str, ...] = ("sr", "denoise", "jpeg", "realdenoise", "realsr", "derain", "deblur")

#: The card field that holds each task's parameter; tasks not listed have none.
TASK_PARAMETER: Mapping[str, str] = MappingProxyType(
    {"sr": "scale", "realsr": "scale", "denoise": "sigma", "jpeg": "quality"}
)

#: Tasks whose models may be picked by variant name from a neighbouring task (``--model real``
#: with ``restore sr`` means the real-world SR card).
_RELATED_TASKS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"sr": ("sr", "realsr"), "realsr": ("realsr", "sr"), "denoise": ("denoise", "realdenoise"),
     "realdenoise": ("realdenoise", "denoise")}
)

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")

_TOP_KEYS = frozenset({
    "id", "name", "task", "scale", "sigma", "quality", "default", "variant", "license", "bundled",
    "notes", "paper", "arch", "sources", "metrics", "training", "params",
})
_SOURCE_KEYS = frozenset({"repo_id", "filename", "revision", "url", "path", "sha256", "size", "confirmed", "note"})
_METRIC_KEYS = frozenset({"benchmark", "psnr", "ssim", "convention", "source"})
_PAPER_KEYS = frozenset({"title", "arxiv", "url", "venue"})
_ARCH_KEYS = frozenset({"class", "kwargs"})

PACKAGE_DIR = Path(__file__).resolve().parent
#: Folder of weights shipped inside the package (``bundled = "<file>"`` cards).
BUNDLED_WEIGHTS_DIR = PACKAGE_DIR / "weights"


@dataclass(frozen=True)
class Source:
    """One place a model's weights can be fetched from.

    Exactly one of three kinds: a Hugging Face Hub file (``repo_id`` + ``filename`` + ``revision``),
    a plain HTTPS ``url`` (GitHub release assets), or a local ``path`` (user cards, imports).

    Attributes:
        sha256: expected lowercase hex digest, or ``None`` when unpublished (then the first download's
            digest is recorded and enforced afterwards: trust on first use).
        size: expected size in bytes, or ``None``.
        confirmed: ``False`` when the file name is inferred (e.g. from the official configs) and has not
            been seen in use, so a 404 there is expected and not alarming.
    """

    repo_id: str | None = None
    filename: str | None = None
    revision: str = "main"
    url: str | None = None
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    confirmed: bool = True
    note: str | None = None

    @property
    def kind(self) -> str:
        """``"hub"``, ``"url"`` or ``"path"``."""
        if self.repo_id is not None:
            return "hub"
        return "url" if self.url is not None else "path"

    @property
    def key(self) -> str:
        """Stable text naming this exact file, used as the key of the checksum record."""
        if self.kind == "hub":
            return f"hf://{self.repo_id}@{self.revision}/{self.filename}"
        return self.url if self.kind == "url" else f"file://{self.path}"

    def describe(self) -> str:
        """Short human form, e.g. ``hf://cguoh/MambaIR@main/MambaIRv2_ckpt/x.pth``."""
        return self.key

    def as_json(self) -> dict[str, Any]:
        """The JSON form used by ``restore models info --json``."""
        if self.kind == "hub":
            out: dict[str, Any] = {"repo_id": self.repo_id, "filename": self.filename, "revision": self.revision}
        elif self.kind == "url":
            out = {"url": self.url}
        else:
            out = {"path": self.path}
        out.update(sha256=self.sha256, size=self.size, confirmed=self.confirmed)
        return out


@dataclass(frozen=True)
class Metric:
    """A number the paper reports for this model (the acceptance target of the benchmark tools)."""

    benchmark: str
    psnr: float
    ssim: float | None = None
    convention: str = ""
    source: str = ""


@dataclass(frozen=True)
class ModelCard:
    """A validated model card; see the module docstring for the file format.

    Attributes:
        arch_class: official class name (``MambaIR``, ``MambaIRv2``, ``MambaIRv2Light``, ``MambaIRUNet``).
        arch_kwargs: official constructor kwargs, read-only; lists are stored as tuples.
        path: the TOML file the card was read from (``None`` for cards made in code).
        origin: ``"package"``, ``"user"`` or ``"file"`` (named on the command line).
    """

    id: str
    name: str
    task: str
    arch_class: str
    arch_kwargs: Mapping[str, Any] = field(hash=False)
    sources: tuple[Source, ...] = ()
    scale: int = 1
    sigma: int | None = None
    quality: int | None = None
    default: bool = False
    variant: str | None = None
    license: str | None = None
    bundled: str | None = None
    notes: str | None = None
    paper_title: str | None = None
    paper_arxiv: str | None = None
    metrics: tuple[Metric, ...] = ()
    training: Mapping[str, Any] | None = field(default=None, hash=False)
    params: int | None = None
    path: Path | None = None
    origin: str = "package"

    @property
    def param(self) -> int | None:
        """The value of the task's parameter (scale, sigma or quality), ``None`` for tasks without one."""
        name = TASK_PARAMETER.get(self.task)
        return None if name is None else getattr(self, name)

    @property
    def param_label(self) -> str:
        """``x4``, ``σ25``, ``q40`` or ``""``: the parameter as shown in tables."""
        name = TASK_PARAMETER.get(self.task)
        if name is None:
            return ""
        prefix = {"scale": "x", "sigma": "σ", "quality": "q"}[name]
        return f"{prefix}{self.param}"

    @property
    def sha256(self) -> str | None:
        """The published sha256 of the preferred source, if any."""
        return self.sources[0].sha256 if self.sources else None

    @property
    def in_channels(self) -> int:
        """Input channels of the network (1 for the gray JPEG models)."""
        return int(self.arch_kwargs.get("in_chans", self.arch_kwargs.get("inp_channels", 3)))

    def kwargs_dict(self) -> dict[str, Any]:
        """A fresh, mutable copy of the kwargs with tuples turned back into lists (as in the configs)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.arch_kwargs.items()}

    def bundled_path(self) -> Path | None:
        """Where the bundled weights file is: beside the card file first, else in the package."""
        if self.bundled is None:
            return None
        candidates = []
        if self.path is not None and self.origin != "package":
            candidates.append(self.path.parent / self.bundled)
        candidates.append(BUNDLED_WEIGHTS_DIR / self.bundled)
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        return candidates[-1]

    def as_json(self) -> dict[str, Any]:
        """The object printed by ``restore models info --json``."""
        return {
            "id": self.id,
            "name": self.name,
            "task": self.task,
            "scale": self.scale,
            "sigma": self.sigma,
            "quality": self.quality,
            "default": self.default,
            "variant": self.variant,
            "arch": {"class": self.arch_class, "kwargs": self.kwargs_dict()},
            "sources": [s.as_json() for s in self.sources],
            "sha256": self.sha256,
            "bundled": self.bundled,
            "license": self.license,
            "paper": {"title": self.paper_title, "arxiv": self.paper_arxiv},
            "metrics": [
                {"benchmark": m.benchmark, "psnr": m.psnr, "ssim": m.ssim, "convention": m.convention,
                 "source": m.source}
                for m in self.metrics
            ],
            "notes": self.notes,
            "training": _thaw(self.training) if self.training is not None else None,
            "card_file": str(self.path) if self.path else None,
            "origin": self.origin,
        }


# ----------------------------------------------------------------------------------------- parsing
def _err(where: object, field_name: str, message: str) -> ModelCardError:
    return ModelCardError(f"{where}: field {field_name!r} {message}; fix the card file.")


def _check_keys(where: object, prefix: str, table: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _err(where, prefix + unknown[0], f"is not a card field (allowed: {', '.join(sorted(allowed))})")


def _get(where: object, table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *,
         prefix: str = "", required: bool = False, default: Any = None) -> Any:
    if key not in table:
        if required:
            raise _err(where, prefix + key, "is missing")
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int subclass: refuse `scale = true` and `default = 1` alike.
    if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise _err(where, prefix + key, f"must be {names}, not {type(value).__name__} {value!r}")
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def _parse_source(where: object, i: int, table: Any) -> Source:
    prefix = f"sources[{i}]."
    if not isinstance(table, dict):
        raise _err(where, f"sources[{i}]", "must be a table ([[sources]])")
    _check_keys(where, prefix, table, _SOURCE_KEYS)
    kinds = [k for k in ("repo_id", "url", "path") if k in table]
    if len(kinds) != 1:
        raise _err(where, f"sources[{i}]", "must have exactly one of repo_id (+ filename), url or path")
    repo_id = _get(where, table, "repo_id", str, prefix=prefix)
    filename = _get(where, table, "filename", str, prefix=prefix, required=repo_id is not None)
    if repo_id is not None and not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id):
        raise _err(where, prefix + "repo_id", f"must look like 'owner/name', not {repo_id!r}")
    if repo_id is None and filename is not None:
        raise _err(where, prefix + "filename", "is only valid with repo_id")
    url = _get(where, table, "url", str, prefix=prefix)
    if url is not None and not url.startswith(("https://", "http://")):
        raise _err(where, prefix + "url", f"must be an http(s) URL, not {url!r}")
    path = _get(where, table, "path", str, prefix=prefix)
    if path is not None and not Path(path).is_absolute() and isinstance(where, Path):
        path = str((where.parent / path).resolve())
    revision = _get(where, table, "revision", str, prefix=prefix, default="main")
    sha256 = _get(where, table, "sha256", str, prefix=prefix)
    if sha256 is not None and not _SHA_RE.match(sha256):
        raise _err(where, prefix + "sha256", "must be 64 lowercase hex characters")
    size = _get(where, table, "size", int, prefix=prefix)
    if size is not None and size <= 0:
        raise _err(where, prefix + "size", "must be a positive byte count")
    return Source(
        repo_id=repo_id, filename=filename, revision=revision, url=url, path=path, sha256=sha256, size=size,
        confirmed=_get(where, table, "confirmed", bool, prefix=prefix, default=True),
        note=_get(where, table, "note", str, prefix=prefix),
    )


def _parse_metric(where: object, i: int, table: Any) -> Metric:
    prefix = f"metrics[{i}]."
    if not isinstance(table, dict):
        raise _err(where, f"metrics[{i}]", "must be a table ([[metrics]])")
    _check_keys(where, prefix, table, _METRIC_KEYS)
    psnr = _get(where, table, "psnr", (float, int), prefix=prefix, required=True)
    ssim = _get(where, table, "ssim", (float, int), prefix=prefix)
    if ssim is not None and not 0 <= ssim <= 1:
        raise _err(where, prefix + "ssim", f"must lie in [0, 1], not {ssim}")
    return Metric(
        benchmark=_get(where, table, "benchmark", str, prefix=prefix, required=True),
        psnr=float(psnr),
        ssim=None if ssim is None else float(ssim),
        convention=_get(where, table, "convention", str, prefix=prefix, default=""),
        source=_get(where, table, "source", str, prefix=prefix, default=""),
    )


def parse_card(data: Mapping[str, Any], *, path: Path | None = None, origin: str = "package") -> ModelCard:
    """Validate one card's TOML table and build the :class:`ModelCard`.

    Raises:
        ModelCardError: naming the file and the offending field.
    """
    where: object = path if path is not None else "<card>"
    _check_keys(where, "", data, _TOP_KEYS)
    card_id = _get(where, data, "id", str, required=True)
    if not _ID_RE.match(card_id):
        raise _err(where, "id", f"must match {_ID_RE.pattern} (lowercase), not {card_id!r}")
    task = _get(where, data, "task", str, required=True)
    if task not in TASKS:
        raise _err(where, "task", f"must be one of {', '.join(TASKS)}, not {task!r}")
    param_name = TASK_PARAMETER.get(task)
    scale = _get(where, data, "scale", int, required=param_name == "scale", default=1)
    if scale < 1:
        raise _err(where, "scale", f"must be >= 1, not {scale}")
    sigma = _get(where, data, "sigma", int, required=param_name == "sigma")
    quality = _get(where, data, "quality", int, required=param_name == "quality")
    if quality is not None and not 1 <= quality <= 100:
        raise _err(where, "quality", f"must lie in 1..100, not {quality}")
    if sigma is not None and not 0 < sigma <= 255:
        raise _err(where, "sigma", f"must lie in 1..255, not {sigma}")

    arch = _get(where, data, "arch", dict, required=True)
    _check_keys(where, "arch.", arch, _ARCH_KEYS)
    arch_class = _get(where, arch, "class", str, prefix="arch.", required=True)
    kwargs = _get(where, arch, "kwargs", dict, prefix="arch.", default={})
    if "upscale" in kwargs and kwargs["upscale"] != scale:
        raise _err(where, "arch.kwargs.upscale", f"is {kwargs['upscale']} but the card's scale is {scale}")

    raw_sources = _get(where, data, "sources", list, default=[])
    sources = tuple(_parse_source(where, i, s) for i, s in enumerate(raw_sources))
    bundled = _get(where, data, "bundled", str)
    if bundled is not None and (Path(bundled).name != bundled or not bundled.endswith(".safetensors")):
        raise _err(where, "bundled", f"must be a bare '<name>.safetensors' file name, not {bundled!r}")
    if not sources and bundled is None:
        raise _err(where, "sources", "is missing: a card needs [[sources]] or bundled = '<file>.safetensors'")

    paper = _get(where, data, "paper", dict, default={})
    _check_keys(where, "paper.", paper, _PAPER_KEYS)
    metrics = tuple(_parse_metric(where, i, m) for i, m in enumerate(_get(where, data, "metrics", list, default=[])))
    training = _get(where, data, "training", dict)
    return ModelCard(
        id=card_id,
        name=_get(where, data, "name", str, default=card_id),
        task=task,
        arch_class=arch_class,
        arch_kwargs=_freeze(dict(kwargs)),
        sources=sources,
        scale=scale,
        sigma=sigma,
        quality=quality,
        default=_get(where, data, "default", bool, default=False),
        params=_get(where, data, "params", int),
        variant=_get(where, data, "variant", str),
        license=_get(where, data, "license", str),
        bundled=bundled,
        notes=_get(where, data, "notes", str),
        paper_title=_get(where, paper, "title", str, prefix="paper."),
        paper_arxiv=_get(where, paper, "arxiv", str, prefix="paper."),
        metrics=metrics,
        training=None if training is None else _freeze(training),
        path=path,
        origin=origin,
    )


def read_card(path: str | Path, *, origin: str = "file") -> ModelCard:
    """Read and validate one card file.

    Raises:
        ModelCardError: the file is missing, not TOML, or breaks the schema.
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ModelCardError(f"{path}: cannot read the model card ({exc.strerror or exc}); check the path.") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelCardError(f"{path}: not a valid TOML model card ({exc}); fix the syntax.") from None
    return parse_card(data, path=path, origin=origin)


def load_card_file(path: str | Path) -> ModelCard:
    """Read a card named on the command line (``--model-card FILE``); same as :func:`read_card`."""
    return read_card(path, origin="file")


def packaged_cards_dir() -> Path:
    """The catalog folder: ``_cards`` inside an installed wheel, else the checkout's ``models/``."""
    inside = PACKAGE_DIR / "_cards"
    if inside.is_dir():
        return inside
    return PACKAGE_DIR.parent / "models"


@functools.lru_cache(maxsize=4)
def _load_dir(folder: Path, origin: str) -> tuple[ModelCard, ...]:
    return tuple(read_card(p, origin=origin) for p in sorted(folder.glob("*.toml")))


def packaged_cards() -> tuple[ModelCard, ...]:
    """The cards shipped with restore (parsed once per process: the package does not change)."""
    folder = packaged_cards_dir()
    if not folder.is_dir():
        raise ModelCardError(
            f"{folder}: the packaged model catalog is missing; reinstall restore-cli."
        )
    return _load_dir(folder, "package")


def load_cards(settings: Settings | None = None, *, extra_files: Iterable[str | Path] = (),
               include_user: bool = True) -> tuple[ModelCard, ...]:
    """All cards: packaged, then the user's cards folder, then ``extra_files``.

    Args:
        settings: where the user cards live; ``None`` reads :meth:`Settings.from_env`.
        extra_files: card files named on the command line (``--model-card``).
        include_user: read the user's cards folder.

    Raises:
        ModelCardError: a card is malformed, or two cards share an id.
    """
    cards: list[ModelCard] = list(packaged_cards())
    if include_user:
        if settings is None:
            from .config import Settings

            settings = Settings.from_env()
        folder = settings.cards_dir
        if folder.is_dir():
            cards.extend(read_card(p, origin="user") for p in sorted(folder.glob("*.toml")))
    cards.extend(read_card(p, origin="file") for p in extra_files)
    seen: dict[str, ModelCard] = {}
    for card in cards:
        other = seen.get(card.id)
        if other is not None:
            if other.path is not None and card.path is not None and other.path.resolve() == card.path.resolve():
                continue  # the same file named twice (e.g. a user card also given as --model-card)
            raise ModelCardError(
                f"{card.path}: id {card.id!r} is already used by {other.path}; give the card another id."
            )
        seen[card.id] = card
    return tuple(seen.values())


# ----------------------------------------------------------------------------------------- lookups
def _cards_or_load(cards: Sequence[ModelCard] | None, settings: Settings | None,
                   extra_files: Iterable[str | Path]) -> Sequence[ModelCard]:
    return cards if cards is not None else load_cards(settings, extra_files=extra_files)


def find_card(card_id: str, *, settings: Settings | None = None, cards: Sequence[ModelCard] | None = None,
              extra_files: Iterable[str | Path] = ()) -> ModelCard:
    """The card with id ``card_id``.

    Raises:
        ModelCardError: no such id (the message suggests near matches).
    """
    pool = _cards_or_load(cards, settings, extra_files)
    for card in pool:
        if card.id == card_id:
            return card
    import difflib

    near = difflib.get_close_matches(card_id, [c.id for c in pool], n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    raise ModelCardError(f"no model card with id {card_id!r}.{hint} Run `restore models list` to see all ids.")


def _param_value(task: str, scale: int | None, sigma: int | None, quality: int | None) -> int | None:
    name = TASK_PARAMETER.get(task)
    return {"scale": scale, "sigma": sigma, "quality": quality}.get(name) if name else None


def _serves(card: ModelCard, task: str, param: int | None) -> bool:
    return card.task == task and (param is None or card.param == param)


_ORIGIN_RANK = {"file": 0, "user": 1, "package": 2}


def default_card(task: str, param: int | None = None, *, settings: Settings | None = None,
                 cards: Sequence[ModelCard] | None = None, extra_files: Iterable[str | Path] = ()) -> ModelCard:
    """The card marked ``default`` for ``task`` and its parameter (scale, sigma or quality).

    Cards named on the command line win over user cards, which win over packaged ones.
    ``param`` may be omitted when the task has a single default (e.g. ``realdenoise``).

    Raises:
        ModelCardError: unknown task, no default for that parameter, or the parameter is needed.
    """
    if task not in TASKS:
        raise ModelCardError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    pool = _cards_or_load(cards, settings, extra_files)
    candidates = [c for c in pool if c.default and _serves(c, task, param)]
    offered = sorted({c.param for c in pool if c.task == task and c.default and c.param is not None})
    if not candidates and param is not None and offered and task in ("denoise", "jpeg"):
        # A noise level or JPEG quality between the trained ones: the nearest model serves; on a tie the
        # stronger one (higher sigma, lower quality), since under-restoring leaves the artefacts in.
        nearest = min(offered, key=lambda v: (abs(v - param), -v if task == "denoise" else v))
        candidates = [c for c in pool if c.default and _serves(c, task, nearest)]
    if not candidates:
        what = TASK_PARAMETER.get(task, "parameter")
        if offered:
            raise ModelCardError(
                f"no default model for {task} with {what} {param}; available: "
                f"{', '.join(map(str, offered))}. Pick one of those or name a model with --model."
            )
        raise ModelCardError(
            f"no pretrained model for task {task!r} in the catalog; add a model card or use --weights."
        )
    best = min(_ORIGIN_RANK.get(c.origin, 3) for c in candidates)
    candidates = [c for c in candidates if _ORIGIN_RANK.get(c.origin, 3) == best]
    if param is None and len({c.param for c in candidates}) > 1:
        what = TASK_PARAMETER[task]
        values = ", ".join(str(v) for v in sorted({c.param for c in candidates}))
        raise ModelCardError(f"task {task} needs a {what}: one of {values}.")
    if len(candidates) > 1:
        files = ", ".join(str(c.path) for c in candidates)
        raise ModelCardError(
            f"several cards claim to be the default for {task} {param}: {files}; keep default = true on one."
        )
    return candidates[0]


def _matches_variant(card: ModelCard, model: str) -> bool:
    if card.variant is None:
        return False
    wanted = model.lower()
    return card.variant == wanted or (wanted == "v2" and card.variant == "v2-base")


def select_card(task: str, *, scale: int | None = None, sigma: int | None = None, quality: int | None = None,
                model: str | None = None, settings: Settings | None = None,
                cards: Sequence[ModelCard] | None = None, extra_files: Iterable[str | Path] = ()) -> ModelCard:
    """The card to run for a task: ``model`` (an id or a variant such as ``v2-large``) or the default.

    Raises:
        ModelCardError: no card fits; the message lists what does exist.
    """
    pool = _cards_or_load(cards, settings, extra_files)
    param = _param_value(task, scale, sigma, quality)
    if model is None:
        return default_card(task, param, cards=pool)
    if any(c.id == model for c in pool):
        card = find_card(model, cards=pool)
        if card.task not in _RELATED_TASKS.get(task, (task,)):
            raise ModelCardError(f"model {card.id} serves {card.task}, not {task}; pick a {task} model.")
        if param is not None and card.param is not None and card.param != param:
            name = TASK_PARAMETER.get(task, "setting")
            raise ModelCardError(f"model {card.id} is for {card.param_label}, not {name} {param}; drop --{name} "
                                 f"or pick a model for {name} {param}.")
        return card
    if model == "bundled":
        card_or_none = bundled_fallback(task, scale=scale, sigma=sigma, quality=quality, cards=pool)
        if card_or_none is None:
            raise ModelCardError(f"no bundled model for {task}; choose a catalog model or use --weights.")
        return card_or_none
    tasks = _RELATED_TASKS.get(task, (task,))
    hits = [c for c in pool if c.task in tasks and _matches_variant(c, model)]
    exact = [c for c in hits if c.task == task and (param is None or c.param == param)]
    if not exact and hits and all(c.task != task for c in hits):
        exact = [c for c in hits if param is None or c.param == param or c.param is None]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        values = ", ".join(c.param_label for c in exact)
        raise ModelCardError(f"variant {model!r} exists for several settings ({values}); give the parameter.")
    variants = sorted({c.variant for c in pool if c.task in tasks and c.variant})
    raise ModelCardError(
        f"no {task} model {model!r}"
        + (f" for {TASK_PARAMETER.get(task, '')} {param}" if param is not None else "")
        + f"; variants: {', '.join(variants) or 'none'}, or an id from `restore models list`."
    )


def bundled_fallback(task: str, *, scale: int | None = None, sigma: int | None = None,
                     quality: int | None = None, settings: Settings | None = None,
                     cards: Sequence[ModelCard] | None = None,
                     extra_files: Iterable[str | Path] = ()) -> ModelCard | None:
    """The bundled (shipped-in-the-package) card for a task, used when downloads are impossible."""
    pool = _cards_or_load(cards, settings, extra_files)
    param = _param_value(task, scale, sigma, quality)
    hits = [c for c in pool if c.bundled is not None and _serves(c, task, param)]
    if not hits and task in ("denoise", "jpeg"):
        # Bundled denoising/JPEG models are blind (trained over a range of levels): any one serves.
        hits = [c for c in pool if c.bundled is not None and c.task == task]
    if not hits:
        return None
    hits.sort(key=lambda c: (not c.default, _ORIGIN_RANK.get(c.origin, 3), c.id))
    return hits[0]


__all__ = [
    "BUNDLED_WEIGHTS_DIR",
    "TASKS",
    "TASK_PARAMETER",
    "Metric",
    "ModelCard",
    "Source",
    "bundled_fallback",
    "default_card",
    "find_card",
    "load_card_file",
    "load_cards",
    "packaged_cards",
    "packaged_cards_dir",
    "parse_card",
    "read_card",
    "select_card",
]

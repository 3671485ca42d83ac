"""From a model card to a local, verified ``.safetensors`` file: download once, check, convert, cache.

:func:`resolve_weights` is the one entry point the rest of restore uses. In order:

a. If our converted file for the card exists (``<cache>/weights/<id>/<source sha256>.safetensors``,
   the sha256 coming from the card or from our record of the first download), return it: no network,
   no hashing, nothing imported from huggingface_hub.
b. Otherwise try the card's sources in order: Hub files through ``huggingface_hub.hf_hub_download``
   (its cache, ``HF_HUB_CACHE``, and its offline mode), release URLs through plain HTTPS with resume
   (``Range``) into a ``.part`` file, local paths as they are.
c. Verify size and sha256 when the card publishes them. When it does not, the first download's sha256
   is recorded in ``<cache>/checksums.json`` and enforced from then on (trust on first use). A mismatch
   deletes the bad file (blob and snapshot link, or the release download) and raises
   :class:`~restore_cli.errors.ChecksumMismatchError`: a bad file is never used or kept.
d. Convert: load the pickle with ``weights_only=True``, check its layout against the card's
   architecture, save a ``.safetensors`` copy in our cache, return it.

Every failure to obtain weights ends in :class:`~restore_cli.errors.WeightsUnavailableError` naming
each source tried and why it failed, and what to do next.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ChecksumMismatchError, UsageError, WeightsUnavailableError

if TYPE_CHECKING:
    from .cards import ModelCard, Source
    from .config import Settings

log = logging.getLogger("restore.hub")

#: ``progress(done_bytes, total_bytes_or_None)``, called while a release URL downloads.
ProgressFn = Callable[[int, "int | None"], None]
#: Returns the ``{key: shape}`` layout the card's checkpoint must have (injectable for tests).
LayoutFn = Callable[["ModelCard"], Mapping[str, Any]]

_CHUNK = 1 << 20
_URL_TIMEOUT_S = 30.0


class _SourceFailed(Exception):
    """One source could not deliver; the reason goes into the final WeightsUnavailableError."""


# ------------------------------------------------------------------------------------ checksum db
class ChecksumDB:
    """The small JSON file of digests: first-seen source digests and our converted files' digests.

    ``{"sources": {source key: {"sha256", "size", "recorded"}},
       "converted": {card id: {source sha256: {"sha256", "size", "source"}}}}``
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"version": 1, "sources": {}, "converted": {}}
        if path.is_file():
            try:
                loaded = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise WeightsUnavailableError(
                    f"{path}: the checksum record is unreadable ({exc}); delete it to start over "
                    "(the next download re-records each file's sha256)."
                ) from None
            if isinstance(loaded, dict):
                self.data.update(loaded)

    def source(self, key: str) -> dict[str, Any] | None:
        return self.data["sources"].get(key)

    def record_source(self, key: str, sha256: str, size: int) -> None:
        self.data["sources"][key] = {"sha256": sha256, "size": size,
                                     "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self.save()

    def converted(self, card_id: str, source_sha: str) -> dict[str, Any] | None:
        return self.data["converted"].get(card_id, {}).get(source_sha)

    def record_converted(self, card_id: str, source_sha: str, info: dict[str, Any]) -> None:
        self.data["converted"].setdefault(card_id, {})[source_sha] = info
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True), "utf-8")
        tmp.replace(self.path)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_weights` did.

    Attributes:
        path: the converted ``.safetensors`` (or bundled) file to load.
        source: the source the weights came from (``None`` for bundled weights).
        source_sha256: sha256 of the downloaded original file.
        recorded: the sha256 was unknown and has just been recorded (trust on first use).
        from_cache: nothing was downloaded or converted.
    """

    path: Path
    source: Source | None = None
    source_sha256: str | None = None
    recorded: bool = False
    from_cache: bool = True
    attempts: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class CacheStatus:
    """Result of :func:`verify_cached` for one card: ``state`` is ok, missing, corrupt or bundled."""

    card_id: str
    state: str
    path: Path | None = None
    detail: str = ""


# ---------------------------------------------------------------------------------------- helpers
def _expected_sha(source: Source, db: ChecksumDB) -> tuple[str | None, str]:
    """(expected sha256, where it comes from) for a source."""
    if source.sha256:
        return source.sha256, "published in the model card"
    rec = db.source(source.key)
    if rec:
        return rec["sha256"], f"recorded at its first download ({rec.get('recorded', '?')})"
    return None, ""


def converted_path(card: ModelCard, source_sha: str, settings: Settings) -> Path:
    """Where the converted weights for ``card`` from a source with digest ``source_sha`` live."""
    return settings.weights_dir / card.id / f"{source_sha}.safetensors"


def cached_weights(card: ModelCard, *, settings: Settings, db: ChecksumDB | None = None) -> Path | None:
    """The converted (or bundled) weights file for ``card`` if it is already here; never touches the network."""
    if card.bundled is not None:
        path = card.bundled_path()
        return path if path is not None and path.is_file() else None
    db = db or ChecksumDB(settings.checksum_db)
    for source in card.sources:
        sha, _ = _expected_sha(source, db)
        if sha is not None:
            path = converted_path(card, sha, settings)
            if path.is_file():
                return path
    return None


def _remove(path: Path) -> None:
    """Delete a downloaded file; for a Hub snapshot link, the blob it points to as well."""
    with contextlib.suppress(OSError):
        if path.is_symlink():
            target = path.resolve()
            path.unlink()
            target.unlink(missing_ok=True)
        else:
            path.unlink(missing_ok=True)


def _verify(path: Path, source: Source, db: ChecksumDB,
            notify: Callable[[str], None] | None = None) -> tuple[str, bool]:
    """Check size and sha256 of a downloaded file; record them on first use.

    Returns:
        (sha256, recorded_now)

    Raises:
        ChecksumMismatchError: after deleting the file.
    """
    size = path.stat().st_size
    if source.size is not None and size != source.size:
        _remove(path)
        raise ChecksumMismatchError(
            f"{source.key}: {size} bytes instead of the {source.size} the model card gives; the file was "
            "deleted. Download it again (`restore models download ID`)."
        )
    sha = sha256_file(path)
    expected, origin = _expected_sha(source, db)
    if expected is None:
        db.record_source(source.key, sha, size)
        message = (f"recorded sha256 {sha} for {source.key}: no checksum is published, so this first download "
                   "is trusted and every later copy must match it")
        if notify is not None:
            notify(message)
        else:
            log.warning("%s", message)
        return sha, True
    if sha != expected:
        _remove(path)
        raise ChecksumMismatchError(
            f"{source.key}: sha256 {sha} does not match {expected} ({origin}); the bad file was deleted. "
            f"Download it again; if the upstream file changed on purpose, delete its entry from {db.path}."
        )
    return sha, False


# ------------------------------------------------------------------------------------- transports
def host_resolves(url: str) -> bool:
    """Whether the host of ``url`` resolves in DNS.

    huggingface_hub retries a failed request for about 23 s (printing a warning each time) even when
    the host name cannot be resolved at all, which is the usual state of an air-gapped machine. A
    failed lookup is final, so we check it first and fall through to the cache or the next source.
    """
    import socket

    host = urlsplit(url).hostname
    if not host:
        return False
    try:
        socket.getaddrinfo(host, None)
    except OSError:
        return False
    return True


def _fetch_hub(source: Source, settings: Settings, offline: bool) -> Path:
    """Download (or find in the Hub cache) one Hub file via huggingface_hub."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from . import __version__

    endpoint = settings.hf_endpoint or "https://huggingface.co"
    if not offline and not host_resolves(endpoint):
        offline = True  # no network: still serve a cached copy, without 23 s of retries
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)  # retries are reported once, by us
    try:
        path = hf_hub_download(
            source.repo_id,  # type: ignore[arg-type]
            source.filename,  # type: ignore[arg-type]
            revision=source.revision,
            cache_dir=str(settings.hub_cache_dir),
            endpoint=settings.hf_endpoint,
            local_files_only=offline,
            library_name="restore-cli",
            library_version=__version__,
        )
    except LocalEntryNotFoundError:  # subclass of EntryNotFoundError: must come first
        if offline:
            raise _SourceFailed("not in the Hub cache, and offline mode is on (or the Hub host does not "
                                "resolve)") from None
        raise _SourceFailed("not in the Hub cache, and the Hub could not be reached") from None
    except EntryNotFoundError:
        hint = " (the file name is inferred, not confirmed)" if not source.confirmed else ""
        raise _SourceFailed(f"no such file in the repository{hint}") from None
    except RevisionNotFoundError:
        raise _SourceFailed(f"no revision {source.revision!r} in the repository") from None
    except RepositoryNotFoundError:
        raise _SourceFailed("repository not found (or gated: log in with `hf auth login`)") from None
    except HfHubHTTPError as exc:
        raise _SourceFailed(f"Hub HTTP error: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # network failure of any transport library: one generic handler
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise _SourceFailed(f"network failure ({type(exc).__name__}: {first})") from None
    return Path(path)


def _url_target(url: str, settings: Settings) -> Path:
    name = Path(urlsplit(url).path).name or "download"
    name = re.sub(r"[^\w.+-]", "_", name)
    return settings.downloads_dir / hashlib.sha256(url.encode()).hexdigest()[:16] / name


def _fetch_url(source: Source, settings: Settings, offline: bool, progress: ProgressFn | None) -> Path:
    """Download a release asset with urllib, resuming a previous ``.part`` with a Range request."""
    import http.client
    import urllib.error
    import urllib.request

    from . import __version__

    final = _url_target(source.url, settings)  # type: ignore[arg-type]
    if final.is_file():
        return final
    if offline:
        raise _SourceFailed("not downloaded yet, and offline mode is on")
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"restore-cli/{__version__}", "Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(source.url, headers=headers)  # type: ignore[arg-type]
    done = 0
    total: int | None = None
    try:
        with urllib.request.urlopen(request, timeout=_URL_TIMEOUT_S) as resp:
            length = resp.headers.get("Content-Length")
            if start and resp.status == 206:
                done = start
                mode = "ab"
                crange = resp.headers.get("Content-Range", "")
                total = int(crange.rsplit("/", 1)[1]) if "/" in crange and not crange.endswith("*") else None
            else:  # a fresh download, or a server that ignored the Range header
                mode = "wb"
                total = int(length) if length is not None else None
            if total is None and source.size is not None:
                total = source.size
            with part.open(mode) as fh:
                if progress is not None:
                    progress(done, total)
                while chunk := resp.read(_CHUNK):
                    fh.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
    except urllib.error.HTTPError as exc:
        if exc.code == 416:  # our .part is no prefix of the file: start over next time
            part.unlink(missing_ok=True)
        raise _SourceFailed(f"HTTP {exc.code} {exc.reason}") from None
    except (http.client.IncompleteRead, ConnectionError, TimeoutError) as exc:
        raise _SourceFailed(
            f"download interrupted after {part.stat().st_size if part.is_file() else 0} bytes "
            f"({type(exc).__name__}); run the command again to resume"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _SourceFailed(f"network failure ({reason})") from None
    if total is not None and done != total:
        raise _SourceFailed(f"download stopped at {done} of {total} bytes; run the command again to resume")
    part.replace(final)
    return final


def _fetch_path(source: Source) -> Path:
    path = Path(source.path)  # type: ignore[arg-type]
    if not path.is_file():
        raise _SourceFailed("the local file is gone")
    return path


def _card_layout(card: ModelCard) -> Mapping[str, Any]:
    """The state-dict layout of the card's architecture, built on the meta device (no memory, no init)."""
    import torch

    from .archs import from_official
    from .checkpoint import layout_of

    with torch.device("meta"):
        model = from_official(card.arch_class, card.kwargs_dict())
    return layout_of(model)


def _convert(card: ModelCard, original: Path, source: Source, source_sha: str, settings: Settings,
             db: ChecksumDB, layout: LayoutFn | None, state: Mapping[str, Any] | None = None) -> Path:
    """Load the original safely, check it against the card's architecture, store it as safetensors."""
    from . import __version__
    from .checkpoint import check_layout, load_state_dict, save_safetensors

    if state is None:
        state = load_state_dict(original)
    check_layout((layout or _card_layout)(card), state, what=f"{source.key} ({card.id})", arch=card.arch_class)
    out = converted_path(card, source_sha, settings)
    save_safetensors(state, out, metadata={
        "format": "restore-converted-v1", "card": card.id, "source": source.key, "source_sha256": source_sha,
        "arch": card.arch_class, "restore_version": __version__,
    })
    db.record_converted(card.id, source_sha, {"sha256": sha256_file(out), "size": out.stat().st_size,
                                               "source": source.key})
    return out


def _unavailable(card: ModelCard, attempts: list[str], offline: bool) -> WeightsUnavailableError:
    tried = "; ".join(attempts) if attempts else "the card lists no sources"
    if offline:
        step = (f"Run `restore models download {card.id}` once with network access (without --offline / "
                "HF_HUB_OFFLINE), or pass --weights PATH.")
    else:
        step = (f"Check the network and run `restore models download {card.id}`, or download the checkpoint "
                "yourself and pass --weights PATH (or `restore models import FILE`).")
    exc = WeightsUnavailableError(f"no weights for {card.id}: tried {tried}. {step}")
    exc.model_id = card.id  # type: ignore[attr-defined]
    exc.attempts = tuple(attempts)  # type: ignore[attr-defined]
    return exc


# ------------------------------------------------------------------------------------ public API
def fetch_weights(card: ModelCard, *, settings: Settings, offline: bool = False,
                  progress: ProgressFn | None = None, layout: LayoutFn | None = None,
                  notify: Callable[[str], None] | None = None) -> FetchResult:
    """Like :func:`resolve_weights`, but says where the weights came from and whether a digest was recorded."""
    offline = offline or settings.offline
    if card.bundled is not None:
        path = card.bundled_path()
        if path is None or not path.is_file():
            raise WeightsUnavailableError(
                f"the bundled weights of {card.id} ({card.bundled}) are missing from {path}; reinstall restore-cli."
            )
        return FetchResult(path=path)
    db = ChecksumDB(settings.checksum_db)
    hit = cached_weights(card, settings=settings, db=db)
    if hit is not None:
        return FetchResult(path=hit)
    attempts: list[str] = []
    for source in card.sources:
        try:
            if source.kind == "hub":
                original = _fetch_hub(source, settings, offline)
            elif source.kind == "url":
                original = _fetch_url(source, settings, offline, progress)
            else:
                original = _fetch_path(source)
        except _SourceFailed as exc:
            attempts.append(f"{source.describe()} ({exc})")
            log.info("source failed: %s (%s)", source.describe(), exc)
            continue
        sha, recorded = _verify(original, source, db, notify)
        path = converted_path(card, sha, settings)
        if not path.is_file():
            path = _convert(card, original, source, sha, settings, db, layout)
        return FetchResult(path=path, source=source, source_sha256=sha, recorded=recorded, from_cache=False,
                           attempts=tuple(attempts))
    raise _unavailable(card, attempts, offline)


def resolve_weights(card: ModelCard, *, settings: Settings, offline: bool = False,
                    progress: ProgressFn | None = None, layout: LayoutFn | None = None,
                    notify: Callable[[str], None] | None = None) -> Path:
    """A local, verified ``.safetensors`` file with the card's weights, downloading them the first time.

    Args:
        card: the model card.
        settings: cache folders, Hub endpoint and the environment's offline switch.
        offline: use only what is cached (also on when ``settings.offline``).
        progress: ``progress(done, total)`` during release-URL downloads (Hub downloads draw
            huggingface_hub's own bar).
        layout: returns the expected ``{key: shape}`` for a card; default builds the card's
            architecture on the meta device.
        notify: receives the one-line notice when a first download's sha256 is recorded
            (default: a ``logging`` warning on the ``restore.hub`` logger).

    Returns:
        Path to a ``.safetensors`` file (our converted copy, or the bundled file).

    Raises:
        WeightsUnavailableError: no source delivered (each is named with its reason).
        ChecksumMismatchError: a download does not have the expected size or sha256 (it was deleted).
        CheckpointMismatchError: the downloaded checkpoint does not fit the card's architecture.
        UnknownCheckpointError: the download is not a loadable checkpoint.
    """
    return fetch_weights(card, settings=settings, offline=offline, progress=progress, layout=layout,
                         notify=notify).path


def verify_cached(card: ModelCard, *, settings: Settings) -> CacheStatus:
    """Re-hash the card's converted weights against the record; delete a corrupt file so it is rebuilt."""
    if card.bundled is not None:
        path = card.bundled_path()
        ok = path is not None and path.is_file()
        return CacheStatus(card.id, "bundled" if ok else "missing", path, "" if ok else "bundled file missing")
    db = ChecksumDB(settings.checksum_db)
    for source in card.sources:
        sha, _ = _expected_sha(source, db)
        if sha is None:
            continue
        path = converted_path(card, sha, settings)
        if not path.is_file():
            continue
        record = db.converted(card.id, sha)
        actual = sha256_file(path)
        if record is None or record.get("sha256") == actual:
            return CacheStatus(card.id, "ok", path, f"sha256 {actual}")
        path.unlink(missing_ok=True)
        return CacheStatus(card.id, "corrupt", path,
                           f"sha256 {actual} != recorded {record.get('sha256')}; deleted, run "
                           f"`restore models download {card.id}`")
    return CacheStatus(card.id, "missing", None, "not downloaded")


# ---------------------------------------------------------------------------------------- import
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a card")


def _guess_task(class_name: str, kwargs: Mapping[str, Any]) -> str | None:
    if class_name == "MambaIRUNet":
        return "realdenoise"
    if int(kwargs.get("upscale", 1)) > 1:
        return "sr"
    if int(kwargs.get("in_chans", 3)) == 1:
        return "jpeg"
    return None


def import_checkpoint(path: str | Path, *, settings: Settings, arch: str | None = None,
                      model_id: str | None = None, task: str | None = None, sigma: int | None = None,
                      quality: int | None = None, name: str | None = None, overwrite: bool = False,
                      layout: LayoutFn | None = None) -> ModelCard:
    """Register a local checkpoint as a user card, with its converted weights in the cache.

    The architecture and kwargs are read from the checkpoint's keys (:mod:`restore_cli.detect`);
    ``arch`` only asserts the expected class. The card is written to ``settings.cards_dir/<id>.toml``
    with the file's path, sha256 and size, so later runs verify it and need no network.

    Raises:
        UnknownCheckpointError: unreadable or unknown checkpoint, or not of class ``arch``.
        UsageError: the task or its parameter cannot be inferred and was not given, or the id is taken.
    """
    from . import cards as cards_mod
    from .checkpoint import load_state_dict
    from .detect import infer_config

    path = Path(path).resolve()
    state = load_state_dict(path)
    class_name, kwargs = infer_config(state, arch=arch)
    task = task or _guess_task(class_name, kwargs)
    if task is None:
        raise UsageError(f"{path}: cannot tell the task of this {class_name} checkpoint; pass --task.")
    if task not in cards_mod.TASKS:
        raise UsageError(f"unknown task {task!r}; choose one of {', '.join(cards_mod.TASKS)}.")
    card_id = model_id or "user-" + (re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-.") or "model")
    if not re.match(r"^[a-z0-9][a-z0-9._-]*$", card_id):
        raise UsageError(f"model id {card_id!r} must be lowercase letters, digits, '.', '_' or '-'.")
    target = settings.cards_dir / f"{card_id}.toml"
    existing = {c.id: c for c in cards_mod.load_cards(settings)}
    if card_id in existing and not (overwrite and existing[card_id].origin == "user"):
        raise UsageError(f"a model card with id {card_id!r} exists ({existing[card_id].path}); pass another --id.")

    lines = [
        f"# Imported from {path} by `restore models import`.",
        f"id = {_toml_value(card_id)}",
        f"name = {_toml_value(name or path.stem)}",
        f"task = {_toml_value(task)}",
    ]
    param = cards_mod.TASK_PARAMETER.get(task)
    scale = int(kwargs.get("upscale", 1))
    if scale != 1 or param == "scale":
        lines.append(f"scale = {scale}")
    if param == "sigma":
        if sigma is None:
            raise UsageError(f"{path}: a denoising model needs its noise level; pass --sigma.")
        lines.append(f"sigma = {sigma}")
    if param == "quality":
        if quality is None:
            raise UsageError(f"{path}: a JPEG model needs its quality; pass --quality.")
        lines.append(f"quality = {quality}")
    lines += ["", "[arch]", f"class = {_toml_value(class_name)}", "", "[arch.kwargs]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in kwargs.items()]
    sha = sha256_file(path)
    lines += ["", "[[sources]]", f"path = {_toml_value(str(path))}", f"sha256 = {_toml_value(sha)}",
              f"size = {path.stat().st_size}", ""]
    text = "\n".join(lines)
    card = cards_mod.parse_card(cards_mod.tomllib.loads(text), path=target, origin="user")

    _convert(card, path, card.sources[0], sha, settings, ChecksumDB(settings.checksum_db), layout, state=state)
    settings.cards_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(text, "utf-8")
    return card


__all__ = [
    "CacheStatus",
    "ChecksumDB",
    "FetchResult",
    "cached_weights",
    "converted_path",
    "fetch_weights",
    "import_checkpoint",
    "resolve_weights",
    "sha256_file",
    "verify_cached",
]

"""`restore models ...`: list, inspect, download, verify and import pretrained models.

Thin commands over :mod:`restore_cli.cards` and :mod:`restore_cli.hub`: parse options, call the
library, render the result with rich. torch is imported only by the commands that load weights, so
``restore models --help`` and ``restore models list`` stay fast.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import RestoreError, UsageError
from .errors import error_boundary

models_app = typer.Typer(
    help="List, inspect, download, verify and import models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help, as the main app's (see there)
)

# markup off: card notes, paths and sources may contain "[...]" that rich would read as style tags
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

CardFiles = Annotated[
    list[Path] | None,
    typer.Option("--model-card", metavar="FILE", help="Also read this model card file (repeatable).",
                 show_default=False),
]
Offline = Annotated[bool, typer.Option("--offline", help="Use only cached files; never touch the network.")]


def _settings() -> Any:
    from ..config import Settings

    return Settings.from_env()


def _catalog(settings: Any, files: list[Path] | None) -> tuple[Any, ...]:
    from ..cards import load_cards

    return load_cards(settings, extra_files=files or ())


def _source_label(card: Any) -> str:
    if card.bundled is not None:
        return "bundled"
    first = card.sources[0]
    label = {"hub": f"Hub {first.repo_id}", "url": "URL", "path": "local file"}[first.kind]
    more = len(card.sources) - 1
    return label + (f" (+{more})" if more else "")


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Any]:
    """A transient download bar on stderr (drawn only on a terminal); yields the ``progress`` callback."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   console=err, transient=True, disable=not err.is_terminal)
    with bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@models_app.command("list", short_help="Every model in the catalog: task, size, source, cached or not.")
def list_models(
    task: Annotated[str | None, typer.Option(help="Only models for this task (sr, denoise, jpeg, ...).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table.")] = False,
    model_card: CardFiles = None,
) -> None:
    """Show every model in the catalog: task, parameter, default, source and whether it is cached."""
    with error_boundary():
        from ..cards import TASKS
        from ..errors import UsageError
        from ..hub import ChecksumDB, cached_weights

        if task is not None and task not in TASKS:
            raise UsageError(f"--task {task!r}: choose one of {', '.join(TASKS)}")
        settings = _settings()
        catalog = [c for c in _catalog(settings, model_card) if task is None or c.task == task]
        db = ChecksumDB(settings.checksum_db)
        rows = [(c, cached_weights(c, settings=settings, db=db)) for c in catalog]
        if as_json:
            out.print_json(json.dumps([
                {"id": c.id, "task": c.task, "param": c.param, "params": c.params, "default": c.default,
                 "variant": c.variant,
                 "source": _source_label(c), "cached": str(p) if p else None} for c, p in rows
            ]))
            return
        table = Table(title=f"{len(rows)} models", title_justify="left")
        table.add_column("id", no_wrap=True)
        for column in ("task", "params", "default", "source", "cached"):
            table.add_column(column)
        for card, path in rows:
            task = f"{card.task} {card.param_label}".strip()
            table.add_row(card.id, task, _count(card.params), "yes" if card.default else "",
                          _source_label(card), "yes" if path else "no")
        out.print(table)


def _count(n: int | None) -> str:
    """20569575 -> '20.6M', 905016 -> '905K'."""
    if n is None:
        return "?"
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def _info_object(card: Any, settings: Any) -> dict[str, Any]:
    from ..hub import ChecksumDB, cached_weights

    db = ChecksumDB(settings.checksum_db)
    info = card.as_json()
    for entry, source in zip(info["sources"], card.sources, strict=True):
        record = db.source(source.key)
        entry["recorded_sha256"] = record["sha256"] if record else None
    cached = cached_weights(card, settings=settings, db=db)
    info["cached"] = str(cached) if cached else None
    return info


@models_app.command("info", short_help="Everything the catalog knows about one model.")
def info(
    model_id: Annotated[str, typer.Argument(metavar="ID", help="Model id (see `restore models list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model_card: CardFiles = None,
) -> None:
    """Everything the catalog knows about one model: architecture, sources, checksums, paper numbers."""
    with error_boundary():
        from ..cards import find_card

        settings = _settings()
        card = find_card(model_id, cards=_catalog(settings, model_card))
        data = _info_object(card, settings)
        if as_json:
            out.print_json(json.dumps(data))
            return
        out.print(Text.assemble((card.id, "bold"), f"  {card.name}"))
        out.print(f"task: {card.task} {card.param_label}{'  (default)' if card.default else ''}")
        kwargs = ", ".join(f"{k}={v}" for k, v in data["arch"]["kwargs"].items())
        out.print(f"architecture: {card.arch_class}({kwargs})")
        if card.bundled:
            out.print(f"bundled weights: {card.bundled}")
        for i, source in enumerate(data["sources"], 1):
            where = source.get("url") or source.get("path") or (
                f"hf://{source['repo_id']}@{source['revision']}/{source['filename']}")
            sha = source["sha256"] or (f"{source['recorded_sha256']} (recorded)" if source["recorded_sha256"]
                                       else "unknown")
            note = "" if source["confirmed"] else "  [name unconfirmed]"
            out.print(f"source {i}: {where}{note}\n  sha256: {sha}")
        out.print(f"licence: {card.license or 'unknown'}")
        if card.paper_title:
            out.print(f"paper: {card.paper_title} (arXiv {card.paper_arxiv})")
        if card.metrics:
            table = Table("benchmark", "PSNR", "SSIM", "convention")
            for m in card.metrics:
                table.add_row(m.benchmark, f"{m.psnr:.2f}", f"{m.ssim:.4f}" if m.ssim is not None else "",
                              m.convention)
            out.print(table)
        if card.notes:
            out.print(f"notes: {card.notes}")
        out.print(f"cached: {data['cached'] or 'no'}")


@models_app.command("download", short_help="Fetch, verify and convert weights now, for offline runs later.")
def download(
    model_ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="Model ids.",
                                                          show_default=False)] = None,
    all_models: Annotated[bool, typer.Option("--all", help="Every model in the catalog.")] = False,
    offline: Offline = False,
    model_card: CardFiles = None,
) -> None:
    """Fetch, verify and convert weights now, so that later runs need no network."""
    with error_boundary():
        from ..cards import find_card
        from ..hub import fetch_weights

        settings = _settings()
        catalog = _catalog(settings, model_card)
        if all_models == bool(model_ids):
            raise UsageError("name the models to download, or pass --all (not both).")
        chosen = list(catalog) if all_models else [find_card(i, cards=catalog) for i in model_ids or ()]
        failed = 0
        for card in chosen:
            try:
                with _progress(card.id) as progress:
                    result = fetch_weights(card, settings=settings, offline=offline, progress=progress,
                                           notify=lambda msg: err.print(f"note: {msg}"))
            except RestoreError as exc:
                if not all_models:
                    raise
                failed += 1
                err.print(Text.assemble(("Error:", "red"), f" {exc}"))
                continue
            how = "cached" if result.from_cache else f"from {result.source.describe()}"
            out.print(f"{card.id}: {result.path} ({how})")
        if failed:
            err.print(f"{failed} of {len(chosen)} models could not be downloaded.")
            raise typer.Exit(1)


@models_app.command("verify", short_help="Re-hash cached weights; corrupt files are deleted.")
def verify(
    model_ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="Model ids (default: all cached).",
                                                          show_default=False)] = None,
    model_card: CardFiles = None,
) -> None:
    """Re-hash cached weights against their records; corrupt files are deleted so they are fetched again."""
    with error_boundary():
        from ..cards import find_card
        from ..hub import verify_cached

        settings = _settings()
        catalog = _catalog(settings, model_card)
        chosen = [find_card(i, cards=catalog) for i in model_ids] if model_ids else list(catalog)
        statuses = [verify_cached(c, settings=settings) for c in chosen]
        if not model_ids:
            statuses = [s for s in statuses if s.state != "missing"]
        if not statuses:
            out.print("No model is cached yet; `restore models download ID` fetches one.")
            return
        table = Table("id", "state", "detail")
        for status in statuses:
            colour = {"ok": "green", "bundled": "green", "corrupt": "red"}.get(status.state, "yellow")
            table.add_row(status.card_id, Text(status.state, colour), status.detail)
        out.print(table)
        if any(s.state == "corrupt" for s in statuses) or (model_ids and any(s.state == "missing" for s in statuses)):
            raise typer.Exit(1)


@models_app.command("import", short_help="Register a local checkpoint as a user model card.")
def import_(
    file: Annotated[Path, typer.Argument(help="Checkpoint (.pth/.pt/.ckpt with params/params_ema, or .safetensors).")],
    arch: Annotated[str | None, typer.Option(help="Official class (MambaIR, MambaIRv2, MambaIRv2Light, MambaIRUNet); "
                                             "detected from the keys when omitted.")] = None,
    model_id: Annotated[str | None, typer.Option("--id", help="Id of the new card (default: user-<stem>).")] = None,
    task: Annotated[str | None, typer.Option(help="Task it serves (default: inferred: sr, jpeg, realdenoise).")] = None,
    sigma: Annotated[int | None, typer.Option(help="Noise level, for denoising models.")] = None,
    quality: Annotated[int | None, typer.Option(help="JPEG quality, for JPEG models.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a user card with the same id.")] = False,
) -> None:
    """Register a local checkpoint as a user model card (its layout is checked and a safe copy cached)."""
    with error_boundary():
        from ..hub import import_checkpoint

        settings = _settings()
        card = import_checkpoint(file, settings=settings, arch=arch, model_id=model_id, task=task, sigma=sigma,
                                 quality=quality, name=name, overwrite=force)
        out.print(f"registered {card.id}: {card.arch_class} for {card.task} {card.param_label}".rstrip()
                  + f" -> {settings.cards_dir / (card.id + '.toml')}")

"""The task commands: ``restore sr|denoise|jpeg|derain|deblur``.

Each command only parses its options into a :class:`TaskRequest` and hands it to :func:`run_task`,
which plans the batch, loads the model once per device and runs the files.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from . import options as o
from .errors import error_boundary


@dataclass
class TaskRequest:
    task: str
    paths: list[str]
    output: str | None = None
    scale: int | None = None
    outscale: float | None = None
    sigma: int | None = None
    quality: int | None = None
    model: str | None = None
    weights: Path | None = None
    model_card: Path | None = None
    recursive: bool = False
    suffix: str | None = None
    ext: str | None = None
    out_quality: int = 95
    png_compression: int = 6
    overwrite: bool = False
    device: str = "auto"
    precision: str = "fp32"
    compile: bool = False
    autotune: bool = False
    tile: int | None = None
    tile_overlap: int = 32
    batch_size: int | None = None
    self_ensemble: bool = False
    seed: int | None = None
    routing: str = "argmax"
    gt: Path | None = None
    report: Path | None = None
    metric: str | None = None
    crop_border: int | None = None
    quiet: bool = False
    json: bool = False
    shard: str | None = None
    offline: bool = False
    no_fallback: bool = False
    max_pixels: int | None = None
    official_tiling: bool = False
    extra: dict = field(default_factory=dict)

    def default_suffix(self) -> str:
        if self.task == "sr":
            return f"_x{self.outscale:g}" if self.outscale is not None else f"_x{self.scale}"
        if self.task == "denoise":
            return "_denoised"
        return {"jpeg": "_dejpeg", "derain": "_derained", "deblur": "_deblurred"}.get(self.task, f"_{self.task}")


def _compile_mode(req: TaskRequest) -> bool | str:
    """``--compile`` -> True, ``--autotune`` -> its ``torch.compile`` mode (it implies compiling)."""
    if req.autotune:
        from ..engine.compile import AUTOTUNE_MODE

        return AUTOTUNE_MODE
    return req.compile


def _load_restorers(req: TaskRequest, notify) -> list:
    from .. import cards
    from ..config import Settings
    from ..engine.model import parse_devices
    from ..errors import ModelCardError, UsageError
    from ..restorer import Restorer

    settings = Settings.from_env()
    if req.compile or req.autotune:
        settings.keep_compiled_kernels()
    devices = parse_devices(req.device)
    opts = dict(tile=req.tile, tile_overlap=req.tile_overlap, self_ensemble=req.self_ensemble,
                batch_size=req.batch_size, seed=req.seed, precision=req.precision,
                official_tiling=req.official_tiling, compile=_compile_mode(req), outscale=req.outscale)
    task = "realdenoise" if req.extra.get("real") else req.task
    if req.model_card is not None:
        card = cards.load_card_file(req.model_card)
    elif req.weights is not None and req.model is None:
        card = None
    else:
        try:
            card = cards.select_card(task, scale=req.scale, sigma=req.sigma, quality=req.quality,
                                     model=req.model, settings=settings)
        except ModelCardError as exc:  # what the command line asked for does not exist: a usage error
            raise UsageError(str(exc)) from None
    restorers = []
    for dev in devices:
        if card is None:
            r = Restorer.from_weights(req.weights, device=str(dev), task=task, **opts)
        elif req.model is None and req.model_card is None and req.weights is None:
            r = Restorer.for_task(task, scale=req.scale, sigma=req.sigma, quality=req.quality,
                                  fallback=not req.no_fallback, settings=settings, notify=notify,
                                  device=str(dev), offline=req.offline, **opts)
        else:
            r = Restorer.from_card(card, device=str(dev), weights=req.weights, offline=req.offline,
                                   settings=settings, **opts)
        _set_routing(r, req.routing)
        restorers.append(r)
        notify = None  # say the fallback line once
    return restorers


# What each task's parameter is when the command line does not give one (and no exact model id does).
DEFAULT_PARAMETERS = {"sr": ("scale", 4), "denoise": ("sigma", 25), "jpeg": ("quality", 30)}


def _fill_default_parameter(req: TaskRequest) -> None:
    """The task's usual setting where the command gave none, unless the model fixes it: a model card,
    weights, or a catalog id (``--model mambair-sr-x2`` is x2; ``--model light`` is a variant and takes
    the default like no --model at all)."""
    from .. import cards
    from ..config import Settings

    name, value = DEFAULT_PARAMETERS.get(req.task, (None, None))
    if req.task == "sr" and req.outscale is not None:  # the smallest model scale that reaches it
        value = next((s for s in (2, 3, 4) if s >= req.outscale), 4)
    if name is None or getattr(req, name) is not None or req.model_card is not None or req.weights is not None:
        return
    if req.model is not None and any(c.id == req.model for c in cards.load_cards(Settings.from_env())):
        return
    setattr(req, name, value)


def _check_scale(req: TaskRequest, model_scale: int) -> None:
    """``--scale`` must be the model's (a model card or weights may fix it); without it, the model's is used."""
    from ..errors import UsageError

    if req.task != "sr":
        return
    if req.scale is not None and req.scale != model_scale:
        raise UsageError(f"--scale {req.scale}, but the model upscales x{model_scale}; drop --scale or pick an "
                         f"x{req.scale} model")
    req.scale = model_scale


def _set_routing(restorer, routing: str) -> None:
    from ..errors import UsageError

    if routing not in ("argmax", "gumbel"):
        raise UsageError(f"--routing {routing!r}: choose argmax or gumbel")
    setter = getattr(restorer.model.module, "set_routing", None)
    if setter is not None:
        setter(routing, seed=restorer.seed)


def _check_report_path(report: Path | None) -> None:
    """Refuse a --report the batch could not write at its end, before any work is done."""
    import os

    from ..errors import UsageError

    if report is None:
        return
    if report.suffix.lower() not in (".json", ".csv"):
        raise UsageError(f"--report {report}: give a .json or .csv file name (the format follows the extension)")
    if report.is_dir():
        raise UsageError(f"--report {report}: is a folder; give a .json or .csv file name")
    folder = report.parent if str(report.parent) else Path(".")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--report {report}: cannot write in {folder}")


def run_task(req: TaskRequest) -> int:
    """Plan, load, run, summarise; returns the exit status."""
    from rich.text import Text

    from ..batch import Shard, describe_convention, metric_convention, plan_jobs, split_positionals
    from ..errors import UsageError
    from ..restorer import check_outscale
    from .runner import err_console, run_jobs, summarise

    check_outscale(req.outscale)  # before any model is fetched
    if req.gt is not None and not req.gt.exists():
        raise UsageError(f"--gt {req.gt}: no such file or folder")
    _check_report_path(req.report)
    _fill_default_parameter(req)
    inputs, output = split_positionals(req.paths, req.output)
    shard = Shard.parse(req.shard) if req.shard else None
    planned_suffix = req.default_suffix()

    def plan() -> tuple[list, list[Path]]:
        left_out: list[Path] = []
        return plan_jobs(inputs, output, suffix=req.suffix, default_suffix=req.default_suffix(), ext=req.ext,
                         recursive=req.recursive, shard=shard, left_out=left_out), left_out

    jobs, left_out = plan()
    missing = [job for job in jobs if not job.source.exists()]
    if missing and len(missing) == len(jobs):  # nothing to restore: say so without loading a model
        for job in missing:
            err_console.print(Text.assemble(("error", "red"), f" {job.source}: no such file"), highlight=False)
        return 1
    if not jobs:
        if not req.quiet:
            err_console.print("nothing to do: no input images (in this shard)")
        return 0

    def notify(line: str) -> None:
        if not req.quiet:
            err_console.print(Text.assemble(("note", "yellow"), f" {line}"), highlight=False)

    restorers = _load_restorers(req, notify)
    _check_scale(req, restorers[0].model.scale)
    min_tile = restorers[0].model.min_tile  # the model's own floor, as the automatic tile and OOM retry use
    if req.tile is not None and 0 < req.tile < min_tile:
        raise UsageError(f"--tile {req.tile}: this model needs tiles of at least {min_tile} px for enough "
                         "context; give 0 (the whole image) or a larger tile")
    if req.default_suffix() != planned_suffix:  # the scale came from the model: name the outputs by it
        jobs, left_out = plan()
    if left_out and not req.quiet:
        notify(f"{len(left_out)} file(s) left out as results of an earlier run (e.g. {left_out[0]}); name them "
               "on the command line to restore them")
    if not req.quiet:
        m = restorers[0].model
        err_console.print(f"model {m.model_id} ({m.arch}, x{m.scale}) on "
                          f"{', '.join(str(r.model.device) for r in restorers)}, {m.precision}", highlight=False)
    results = run_jobs(restorers, jobs, task=req.task, overwrite=req.overwrite, gt=req.gt,
                       metric_mode=req.metric, crop_border=req.crop_border, quiet=req.quiet,
                       json_lines=req.json, max_pixels=req.max_pixels,
                       encoding={"quality": req.out_quality, "png_compression": req.png_compression})
    convention = None
    if req.gt is not None:
        convention = describe_convention(*metric_convention(req.task, req.metric, req.crop_border,
                                                            restorers[0].model.scale))
    return summarise(results, quiet=req.quiet, with_metrics=req.gt is not None, report=req.report,
                     convention=convention)


# Options every task command takes: (parameter name, annotated type, default). Declared once; each
# command's signature is generated from this list plus its own task options, so they cannot drift apart.
COMMON_OPTIONS: tuple[tuple[str, object, object], ...] = (
    ("output", o.Output, None), ("model", o.Model, None), ("weights", o.Weights, None),
    ("model_card", o.ModelCardOpt, None), ("recursive", o.Recursive, False), ("suffix", o.Suffix, None),
    ("ext", o.Ext, None), ("out_quality", o.OutQuality, 95), ("png_compression", o.PngCompression, 6),
    ("overwrite", o.Overwrite, False), ("device", o.Device, "auto"),
    ("precision", o.Precision, "fp32"), ("compile", o.Compile, False), ("autotune", o.Autotune, False),
    ("tile", o.Tile, None),
    ("tile_overlap", o.TileOverlap, 32),
    ("batch_size", o.BatchSize, None), ("self_ensemble", o.SelfEnsemble, False), ("seed", o.Seed, None),
    ("routing", o.Routing, "argmax"), ("gt", o.Gt, None), ("report", o.Report, None),
    ("metric", o.MetricMode, None), ("crop_border", o.CropBorder, None), ("quiet", o.Quiet, False),
    ("json", o.Json, False), ("shard", o.ShardOpt, None), ("offline", o.Offline, False),
    ("no_fallback", o.NoFallback, False), ("max_pixels", o.MaxPixels, None),
    ("official_tiling", o.OfficialTiling, False),
)

Scale = Annotated[int | None, typer.Option("--scale", "-s", help="Upscaling factor: 2, 3 or 4 (default 4, or the "
                                                                   "scale of the model that --model names).")]
Outscale = Annotated[float | None, typer.Option(
    help="Final size as a factor of the input, any value up to 16 (e.g. 3.5, 8 or 1): the model upscales by "
         "its own scale, then the result is resized to this one (Lanczos to enlarge, area averaging to "
         "shrink), alpha included. Without --scale, the smallest model scale that reaches it (x2, x3, else "
         "x4); outputs are named _x<outscale>.")]
Sigma = Annotated[int | None, typer.Option(min=1, max=255, help="Gaussian noise level of the input (0-255 "
                                                               "scale): 15, 25 or 50; other values take the nearest "
                                                               "model (default 25).")]
Real = Annotated[bool, typer.Option(help="Real camera noise (MambaIR UNet trained on SIDD).")]
Quality = Annotated[
    int | None,
    typer.Option(min=1, max=100, help="JPEG quality the images were saved at (10, 30, 40; other values take the "
                                      "nearest model; default 30)."),
]

# task -> (help, task options, examples)
TASKS: dict[str, tuple[str, tuple[tuple[str, object, object], ...], tuple[str, ...]]] = {
    "sr": ("Super-resolution: upscale images x2, x3 or x4 (default model: MambaIRv2 Base).",
           (("scale", Scale, None), ("outscale", Outscale, None)),
           ("restore sr --scale 4 input/ out/", "restore sr photo.png photo_x4.png",
            "restore sr -m light --scale 2 *.jpg -o big/", "restore sr --outscale 3.5 photo.png")),
    "denoise": ("Denoising: remove Gaussian noise of a known level, or real camera noise with --real.",
                (("sigma", Sigma, None), ("real", Real, False)),
                ("restore denoise --sigma 25 scans/ clean/", "restore denoise --real phone.jpg")),
    "jpeg": ("JPEG artefact removal (the models restore luminance; colour is kept).",
             (("quality", Quality, None),),
             ("restore jpeg --quality 10 old_photos/ fixed/",)),
    "derain": ("Deraining: remove rain streaks.", (),
               ("restore derain photo.png", "restore derain -r inbox/ -o out/")),
    "deblur": ("Deblurring: remove camera-shake motion blur (the bundled model is trained on blur trails of up "
               "to about 16 px; downscale a photo with a longer trail first).", (),
               ("restore deblur photo.png", "restore deblur -r shaky/ -o sharp/")),
}


def _run_command(task: str, **options: object) -> None:
    """The body of every task command: options -> TaskRequest -> run_task -> exit status."""
    fields = {name: options.pop(name) for name in list(options) if name in TaskRequest.__dataclass_fields__}
    req = TaskRequest(task=task, extra=options, **fields)  # leftovers (e.g. --real) go to extra
    with error_boundary():
        status = run_task(req)
    raise typer.Exit(status)


def _make_command(task: str):
    """Build the Typer callback of one task with a real signature (Typer reads names, types, defaults)."""
    doc, task_options, _ = TASKS[task]
    params = [inspect.Parameter("paths", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=o.Paths)]
    for name, annotation, default in (*task_options, *COMMON_OPTIONS):
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=annotation))

    def command(**options: object) -> None:
        _run_command(task, **options)

    command.__name__ = task
    command.__doc__ = doc
    command.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


#: One line each for `restore --help`'s command list, which cuts longer ones off at the terminal's width.
SHORT_HELP = {
    "sr": "Upscale images x2, x3 or x4 (default model: MambaIRv2 Base).",
    "denoise": "Remove Gaussian noise of a known level, or real camera noise.",
    "jpeg": "Remove JPEG artefacts (luminance restored, colour kept).",
    "derain": "Remove rain streaks.",
    "deblur": "Remove camera-shake motion blur (trails up to about 16 px).",
}


def register(app: typer.Typer) -> None:
    """Add the five task commands to ``app``."""
    for task, (_, _, examples) in TASKS.items():
        app.command(task, short_help=SHORT_HELP[task], epilog=o.examples_epilog(examples))(_make_command(task))

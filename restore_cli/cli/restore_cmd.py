"""The task commands: ``restore sr|denoise|jpeg|derain|deblur``.

Each command only parses its options into a :class:`TaskRequest` and hands it to :func:`run_task`,
which plans the batch, loads the model once per device and runs the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from . import options as o
from .errors import error_boundary


@dataclass
class TaskRequest:
    task: str
    paths: list[str]
    output: str | None = None
    scale: int | None = None
    sigma: int | None = None
    quality: int | None = None
    model: str | None = None
    weights: Path | None = None
    model_card: Path | None = None
    recursive: bool = False
    suffix: str | None = None
    ext: str | None = None
    overwrite: bool = False
    device: str = "auto"
    precision: str = "fp32"
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
            return f"_x{self.scale}"
        if self.task == "denoise":
            return "_denoised"
        return {"jpeg": "_dejpeg", "derain": "_derained", "deblur": "_deblurred"}.get(self.task, f"_{self.task}")


def _load_restorers(req: TaskRequest, notify) -> list:
    from .. import cards
    from ..config import Settings
    from ..engine.model import parse_devices
    from ..restorer import Restorer

    settings = Settings.from_env()
    devices = parse_devices(req.device)
    opts = dict(tile=req.tile, tile_overlap=req.tile_overlap, self_ensemble=req.self_ensemble,
                batch_size=req.batch_size, seed=req.seed, precision=req.precision,
                official_tiling=req.official_tiling)
    task = "realdenoise" if req.extra.get("real") else req.task
    if req.model_card is not None:
        card = cards.load_card_file(req.model_card)
    elif req.weights is not None and req.model is None:
        card = None
    else:
        card = cards.select_card(task, scale=req.scale, sigma=req.sigma, quality=req.quality,
                                 model=req.model, settings=settings)
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


def _set_routing(restorer, routing: str) -> None:
    from ..errors import UsageError

    if routing not in ("argmax", "gumbel"):
        raise UsageError(f"--routing {routing!r}: choose argmax or gumbel")
    setter = getattr(restorer.model.module, "set_routing", None)
    if setter is not None:
        setter(routing, seed=restorer.seed)


def run_task(req: TaskRequest) -> int:
    """Plan, load, run, summarise; returns the exit status."""
    from ..batch import Shard, plan_jobs, split_positionals
    from .runner import err_console, run_jobs, summarise

    inputs, output = split_positionals(req.paths, req.output)
    shard = Shard.parse(req.shard) if req.shard else None
    jobs = plan_jobs(inputs, output, suffix=req.suffix, default_suffix=req.default_suffix(), ext=req.ext,
                     recursive=req.recursive, shard=shard)
    if not jobs:
        if not req.quiet:
            err_console.print("nothing to do: no input images (in this shard)")
        return 0

    def notify(line: str) -> None:
        if not req.quiet:
            err_console.print(f"[yellow]note[/yellow] {line}", highlight=False)

    restorers = _load_restorers(req, notify)
    if not req.quiet:
        m = restorers[0].model
        err_console.print(f"model {m.model_id} ({m.arch}, x{m.scale}) on "
                          f"{', '.join(str(r.model.device) for r in restorers)}, {m.precision}", highlight=False)
    results = run_jobs(restorers, jobs, task=req.task, overwrite=req.overwrite, gt=req.gt,
                       metric_mode=req.metric, crop_border=req.crop_border, quiet=req.quiet,
                       json_lines=req.json, max_pixels=req.max_pixels)
    return summarise(results, quiet=req.quiet, with_metrics=req.gt is not None, report=req.report)


def _common(task: str, paths, output, model, weights, model_card, recursive, suffix, ext, overwrite, device,
            precision, tile, tile_overlap, batch_size, self_ensemble, seed, routing, gt, report, metric,
            crop_border, quiet, json, shard, offline, no_fallback, max_pixels, official_tiling,
            **task_args) -> None:
    extra = {k: v for k, v in task_args.items() if k not in ("scale", "sigma", "quality")}
    req = TaskRequest(task=task, paths=paths, output=output, model=model, weights=weights,
                      model_card=model_card, recursive=recursive, suffix=suffix, ext=ext, overwrite=overwrite,
                      device=device, precision=precision, tile=tile, tile_overlap=tile_overlap,
                      batch_size=batch_size, self_ensemble=self_ensemble, seed=seed, routing=routing, gt=gt,
                      report=report, metric=metric, crop_border=crop_border, quiet=quiet, json=json,
                      shard=shard, offline=offline, no_fallback=no_fallback, max_pixels=max_pixels,
                      official_tiling=official_tiling, scale=task_args.get("scale"), sigma=task_args.get("sigma"),
                      quality=task_args.get("quality"), extra=extra)
    with error_boundary():
        status = run_task(req)
    raise typer.Exit(status)


def register(app: typer.Typer) -> None:
    """Add the five task commands to ``app``."""

    @app.command(epilog="Examples:\n\n  restore sr --scale 4 input/ out/\n\n  restore sr photo.png photo_x4.png\n\n"
                 "  restore sr -m light --scale 2 *.jpg -o big/")
    def sr(
        paths: o.Paths,
        scale: int = typer.Option(4, "--scale", "-s", help="Upscaling factor: 2, 3 or 4."),
        output: o.Output = None, model: o.Model = None, weights: o.Weights = None,
        model_card: o.ModelCardOpt = None, recursive: o.Recursive = False, suffix: o.Suffix = None,
        ext: o.Ext = None, overwrite: o.Overwrite = False, device: o.Device = "auto",
        precision: o.Precision = "fp32", tile: o.Tile = None, tile_overlap: o.TileOverlap = 32,
        batch_size: o.BatchSize = None, self_ensemble: o.SelfEnsemble = False, seed: o.Seed = None,
        routing: o.Routing = "argmax", gt: o.Gt = None, report: o.Report = None, metric: o.MetricMode = None,
        crop_border: o.CropBorder = None, quiet: o.Quiet = False, json: o.Json = False,
        shard: o.ShardOpt = None, offline: o.Offline = False, no_fallback: o.NoFallback = False,
        max_pixels: o.MaxPixels = None, official_tiling: o.OfficialTiling = False,
    ) -> None:
        """Super-resolution: upscale images x2, x3 or x4 (default model: MambaIRv2 Base)."""
        _common("sr", **{k: v for k, v in locals().items()})

    @app.command(epilog="Examples:\n\n  restore denoise --sigma 25 scans/ clean/\n\n  restore denoise --real phone.jpg")
    def denoise(
        paths: o.Paths,
        sigma: int = typer.Option(25, "--sigma", help="Gaussian noise level of the input (0-255 scale): 15, 25 or 50."),
        real: bool = typer.Option(False, "--real", help="Real camera noise (MambaIR UNet trained on SIDD)."),
        output: o.Output = None, model: o.Model = None, weights: o.Weights = None,
        model_card: o.ModelCardOpt = None, recursive: o.Recursive = False, suffix: o.Suffix = None,
        ext: o.Ext = None, overwrite: o.Overwrite = False, device: o.Device = "auto",
        precision: o.Precision = "fp32", tile: o.Tile = None, tile_overlap: o.TileOverlap = 32,
        batch_size: o.BatchSize = None, self_ensemble: o.SelfEnsemble = False, seed: o.Seed = None,
        routing: o.Routing = "argmax", gt: o.Gt = None, report: o.Report = None, metric: o.MetricMode = None,
        crop_border: o.CropBorder = None, quiet: o.Quiet = False, json: o.Json = False,
        shard: o.ShardOpt = None, offline: o.Offline = False, no_fallback: o.NoFallback = False,
        max_pixels: o.MaxPixels = None, official_tiling: o.OfficialTiling = False,
    ) -> None:
        """Denoising: remove Gaussian noise of a known level, or real camera noise with --real."""
        _common("denoise", **{k: v for k, v in locals().items()})

    @app.command(epilog="Examples:\n\n  restore jpeg --quality 10 old_photos/ fixed/")
    def jpeg(
        paths: o.Paths,
        quality: int = typer.Option(30, "--quality", help="JPEG quality the images were saved at (10, 30, 40; "
                                    "other values take the nearest model)."),
        output: o.Output = None, model: o.Model = None, weights: o.Weights = None,
        model_card: o.ModelCardOpt = None, recursive: o.Recursive = False, suffix: o.Suffix = None,
        ext: o.Ext = None, overwrite: o.Overwrite = False, device: o.Device = "auto",
        precision: o.Precision = "fp32", tile: o.Tile = None, tile_overlap: o.TileOverlap = 32,
        batch_size: o.BatchSize = None, self_ensemble: o.SelfEnsemble = False, seed: o.Seed = None,
        routing: o.Routing = "argmax", gt: o.Gt = None, report: o.Report = None, metric: o.MetricMode = None,
        crop_border: o.CropBorder = None, quiet: o.Quiet = False, json: o.Json = False,
        shard: o.ShardOpt = None, offline: o.Offline = False, no_fallback: o.NoFallback = False,
        max_pixels: o.MaxPixels = None, official_tiling: o.OfficialTiling = False,
    ) -> None:
        """JPEG artefact removal (the models restore luminance; colour is kept)."""
        _common("jpeg", **{k: v for k, v in locals().items()})

    for name, doc in (("derain", "Deraining: remove rain streaks."), ("deblur", "Deblurring: remove motion blur.")):
        _register_simple(app, name, doc)


def _register_simple(app: typer.Typer, name: str, doc: str) -> None:
    def command(
        paths: o.Paths,
        output: o.Output = None, model: o.Model = None, weights: o.Weights = None,
        model_card: o.ModelCardOpt = None, recursive: o.Recursive = False, suffix: o.Suffix = None,
        ext: o.Ext = None, overwrite: o.Overwrite = False, device: o.Device = "auto",
        precision: o.Precision = "fp32", tile: o.Tile = None, tile_overlap: o.TileOverlap = 32,
        batch_size: o.BatchSize = None, self_ensemble: o.SelfEnsemble = False, seed: o.Seed = None,
        routing: o.Routing = "argmax", gt: o.Gt = None, report: o.Report = None, metric: o.MetricMode = None,
        crop_border: o.CropBorder = None, quiet: o.Quiet = False, json: o.Json = False,
        shard: o.ShardOpt = None, offline: o.Offline = False, no_fallback: o.NoFallback = False,
        max_pixels: o.MaxPixels = None, official_tiling: o.OfficialTiling = False,
    ) -> None:
        _common(name, **{k: v for k, v in locals().items() if k != "name"})

    command.__doc__ = doc
    app.command(name, epilog=f"Examples:\n\n  restore {name} photo.png\n\n  restore {name} -r inbox/ -o out/")(command)

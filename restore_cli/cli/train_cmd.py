"""``restore train``: train a restoration network on your photos, resume it, export it as a model card.

The command only turns options into a :class:`restore_cli.train.TrainConfig` and renders progress;
the loop, data, degradations and export live in :mod:`restore_cli.train` (imported in the body, so
``restore --help`` does not import torch).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .errors import error_boundary
from .options import examples_epilog

if TYPE_CHECKING:
    from ..train.loop import Progress

_EXAMPLES = (
    "restore train --task sr --scale 4 --arch mambair-light --data corpus/ --max-steps 100000",
    "restore train --task denoise --degrade noise:0-50 --val-degrade noise:25 --data photos/ --val held_out/",
    "restore train --task jpeg --degrade jpeg:10-50 --data corpus/ --max-minutes 25   (run again to resume)",
    "restore train --task sr --scale 2 --init runs/sr-x4/export/restore-sr-x4.safetensors --data corpus/",
    "  (fine-tune: the x4 body starts the x2 model)",
    "restore train --task sr --scale 2 --lq DIV2K/LR_bicubic/X2 --gt DIV2K/HR --arch MambaIR --arch-kwargs '{...}'",
    "torchrun --nproc_per_node 4 -m restore_cli train --task sr --scale 4 --data corpus/   (4 GPUs, DDP)",
)


def train(
    task: Annotated[str, typer.Option(help="sr, denoise, jpeg, derain or deblur.")] = "sr",
    scale: Annotated[int | None, typer.Option(help="SR factor (2, 3, 4); sr only.")] = None,
    arch: Annotated[str, typer.Option(
        help="Preset (tiny, mambair-light, mambairv2-light), an official class (MambaIR, MambaIRv2, "
        "MambaIRv2Light) or package.module:Class.")] = "mambair-light",
    arch_kwargs: Annotated[str, typer.Option(help="JSON object of constructor kwargs (override the preset's).")] = "{}",
    data: Annotated[Path | None, typer.Option(help="Folder of clean images (degraded on the fly), or one holding "
                                              "lq/ + gt/, or train/ (+ val/).")] = None,
    lq: Annotated[Path | None, typer.Option(help="Folder of degraded images, paired with --gt by file name.")] = None,
    gt: Annotated[Path | None, typer.Option(help="Folder of clean images paired with --lq.")] = None,
    val: Annotated[Path | None, typer.Option(help="Validation: clean images (degraded once, seeded per image) "
                                             "or a folder with lq/ + gt/. Default: DATA/val if present.")] = None,
    degrade: Annotated[list[str] | None, typer.Option(help="Degradation step, repeatable, in order: bicubic, "
                                                      "noise:0-50, jpeg:10-50, rain:light|heavy, blur. "
                                                      "Default per task.")] = None,
    val_degrade: Annotated[list[str] | None, typer.Option(help="Validation recipe (default: --degrade), e.g. "
                                                          "noise:25 to report a blind model at sigma 25.")] = None,
    patch: Annotated[int | None, typer.Option(help="Clean (GT) patch side; default 64 x scale for SR, "
                                              "else 128.")] = None,
    rescale: Annotated[float, typer.Option(help="Zoom-out augmentation: cut each clean patch from a region up "
                                           "to 1/RESCALE larger and shrink it by a random factor in "
                                           "[RESCALE, 1] (e.g. 0.5); 1 = off. Clean photos only.")] = 1.0,
    batch_size: Annotated[int, typer.Option(help="Patches per step per process.")] = 16,
    max_steps: Annotated[int, typer.Option(help="Total optimiser steps of the run.")] = 100_000,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW).")] = 2e-4,
    min_lr: Annotated[float, typer.Option(help="Final learning rate of the cosine schedule.")] = 1e-6,
    warmup: Annotated[int | None, typer.Option(help="Warm-up steps (default min(1000, max-steps / 20)).")] = None,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay (weights only, not norms/biases).")] = 1e-4,
    loss: Annotated[str, typer.Option(help="l1, charbonnier, or l1+fft (L1 plus 0.1 x L1 of the spectra: "
                                      "sharper edges for deblurring).")] = "l1",
    ema: Annotated[float, typer.Option(help="EMA decay of the weights (0 = no EMA).")] = 0.999,
    grad_clip: Annotated[float, typer.Option(help="Gradient-norm clip (0 = off).")] = 1.0,
    val_every: Annotated[int, typer.Option(help="Validate every N steps (and at the end).")] = 5000,
    val_crop: Annotated[int, typer.Option(help="Centre-crop validation images to N px (0 = whole).")] = 0,
    val_limit: Annotated[int, typer.Option(help="Use only the first N validation images (0 = all).")] = 0,
    val_tile: Annotated[int, typer.Option(help="Tile size for validation inference (0 = whole image).")] = 0,
    ckpt_every: Annotated[int, typer.Option(help="Write the resumable checkpoint every N steps.")] = 1000,
    log_every: Annotated[int, typer.Option(help="Report progress every N steps.")] = 10,
    out: Annotated[Path | None, typer.Option(help="Run folder: last.pt, val.jsonl, export/. "
                                             "Default runs/<task>[-x<scale>].")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out if it has a checkpoint.")] = True,
    max_minutes: Annotated[float, typer.Option(help="Stop with a checkpoint after this many minutes "
                                               "(0 = no limit); run again to resume.")] = 0.0,
    stop_after: Annotated[int, typer.Option(help="Stop with a checkpoint after this many steps of this session "
                                            "(0 = no limit); the schedule still spans --max-steps.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of initial weights, patches and degradations.")] = 0,
    init: Annotated[Path | None, typer.Option(help="Start from these weights (.safetensors/.pth, or an exported "
                                              "card .toml): fine-tuning. Tensors whose name and shape fit are "
                                              "copied, the rest keep their random init.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N (under torchrun: one GPU per process).")]
    = "auto",
    precision: Annotated[str, typer.Option(help="bf16 (autocast on CUDA) or fp32.")] = "bf16",
    compile: Annotated[bool, typer.Option("--compile", help="Run the training step through torch.compile "
                                          "(faster on a GPU after a minute or two of compiling).")] = False,
    grad_checkpoint: Annotated[bool, typer.Option("--grad-checkpoint", help="Recompute each block's activations "
                                                  "in the backward pass: a fraction of the memory for about a "
                                                  "third more time per step (bigger batches or patches fit).")]
    = False,
    workers: Annotated[int, typer.Option(help="Data-loading processes (-1 = 4 on CUDA, 0 on the CPU).")] = -1,
    channels: Annotated[int, typer.Option(help="Image channels (0 = task default: 1 for jpeg, else 3).")] = 0,
    export: Annotated[bool, typer.Option(help="Write OUT/export/<id>.safetensors + <id>.toml when done.")] = True,
    export_id: Annotated[str | None, typer.Option(help="Card id (default restore-<task>[-x<scale>]).")] = None,
    export_name: Annotated[str | None, typer.Option(help="Human-readable card name.")] = None,
    export_fp16: Annotated[bool, typer.Option(help="Store exported weights in float16.")] = True,
    export_on_stop: Annotated[bool, typer.Option(help="Also validate and export when --max-minutes or --stop-after "
                                                "ends the run (the checkpoint still resumes).")] = False,
    keep_best: Annotated[bool, typer.Option(help="Keep OUT/best.pt, the checkpoint of the best validation PSNR, "
                                            "and export it when it beats the last step (choosing on the "
                                            "validation photos: judge the result on others).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and the final line.")] = False,
) -> None:
    """Train a network for a task, on clean photos degraded on the fly or on paired folders."""
    with error_boundary():
        from ..errors import UsageError
        from ..train import TrainConfig
        from ..train import train as run_training

        try:
            kwargs = json.loads(arch_kwargs)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"--arch-kwargs is not valid JSON ({exc.msg}); write e.g. '{{\"embed_dim\": 48}}'"
            ) from None
        if not isinstance(kwargs, dict):
            raise UsageError("--arch-kwargs must be a JSON object, e.g. '{\"embed_dim\": 48}'")
        s = scale or (1 if task != "sr" else 0)
        cfg = TrainConfig(
            task=task, scale=s if task == "sr" else 1, arch=arch, arch_kwargs=kwargs, channels=channels,
            data=_str(data), lq=_str(lq), gt=_str(gt), val=_str(val), degradations=tuple(degrade or ()),
            val_degradations=tuple(val_degrade or ()), val_crop=val_crop, val_limit=val_limit, val_tile=val_tile,
            patch=patch or (64 * s if task == "sr" and s else 128), rescale=rescale, batch_size=batch_size,
            steps=max_steps, lr=lr,
            min_lr=min_lr, warmup_steps=min(1000, max_steps // 20) if warmup is None else warmup,
            weight_decay=weight_decay, loss=loss, ema_decay=ema, grad_clip=grad_clip, val_every=val_every,
            ckpt_every=ckpt_every, log_every=log_every,
            out_dir=str(out or Path("runs") / (f"sr-x{s}" if task == "sr" else task)),
            resume=resume, max_minutes=max_minutes, stop_after=stop_after, seed=seed, init=_str(init),
            device=device, precision=precision, compile=compile, grad_checkpoint=grad_checkpoint, workers=workers,
            export=export, export_id=export_id, export_name=export_name, export_fp16=export_fp16,
            export_on_stop=export_on_stop, keep_best=keep_best,
        )
        if compile:
            from ..config import Settings

            Settings.from_env().keep_compiled_kernels()
        main_rank = int(os.environ.get("RANK", "0")) == 0
        with _Reporter(enabled=main_rank and not quiet) as report:
            result = run_training(cfg, on_progress=report.progress, on_log=report.log)
        if main_rank:
            v = result.validation
            score = f"; PSNR {v.psnr:.2f} dB / SSIM {v.ssim:.4f} ({v.convention})" if v else ""
            state = "finished" if result.completed else f"paused ({result.reason}), run again to resume"
            typer.echo(f"{state} at step {result.step}/{result.total} in {result.elapsed_s / 60:.1f} min{score}")
            if result.export and quiet:  # otherwise the log already said so
                typer.echo(f"exported {result.export[0]} and {result.export[1]}")


def _str(p: Path | None) -> str | None:
    return None if p is None else str(p)


class _Reporter:
    """A transient rich progress line on a terminal; plain log lines otherwise (files, CI, nohup)."""

    def __init__(self, *, enabled: bool) -> None:
        from rich.console import Console

        self.enabled = enabled
        self.console = Console(stderr=True, soft_wrap=True, markup=False)
        self.live = enabled and self.console.is_terminal
        self.bar = None
        self.task_id = None

    def __enter__(self) -> _Reporter:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(), console=self.console, transient=True,
            )
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

    def progress(self, p: Progress) -> None:
        if not self.enabled:
            return
        psnr = f" psnr {p.psnr:.2f}" if p.psnr is not None else ""
        stats = f"loss {p.loss:.4f}{psnr} lr {p.lr:.2e} {p.it_per_s:.2f} it/s"
        if self.bar is not None:
            if self.task_id is None:
                self.task_id = self.bar.add_task("train", total=p.total, stats=stats)
            self.bar.update(self.task_id, completed=p.step, stats=stats)
        else:
            self.console.print(f"step {p.step}/{p.total} {stats} eta {p.eta_s / 60:.1f} min", highlight=False)

    def log(self, message: str) -> None:
        if self.enabled:
            self.console.print(message, highlight=False)


def register(app: typer.Typer) -> None:
    """Attach ``restore train`` to the application."""
    app.command("train", short_help="Train a network on degraded clean photos or on paired folders.",
                epilog=examples_epilog(_EXAMPLES))(train)

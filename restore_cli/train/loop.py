"""The training loop behind ``restore train``: one function, :func:`train`, for one CPU or many GPUs.

What it does, and why:

* **Optimiser:** AdamW (weight decay on weight matrices only, not on norms and biases), learning rate
  warmed up linearly then decayed along a cosine to ``min_lr``; L1 loss (Charbonnier optional), the
  loss of every MambaIR configuration; gradient-norm clipping, as the scan can spike early on.
  ``l1+fft`` adds a tenth of the L1 distance of the spectra (:func:`frequency_l1`), for deblurring.
* **Speed:** ``compile`` runs the training forward and backward through ``torch.compile`` (fused
  elementwise and normalisation kernels; the linear-attention models are mostly such glue). The EMA,
  validation and export use the plain module.
* **EMA:** an exponential moving average of the weights is validated and exported; it is smoother
  than the raw weights and usually a little better (BasicSR's ``net_g_ema``).
* **Memory:** ``grad_checkpoint`` recomputes each repeated block's activations in the backward pass
  (:mod:`.recompute`): a fraction of the memory for about a third more time per step.
* **Precision:** bf16 autocast on CUDA (no loss scaling needed, unlike fp16); fp32 on the CPU.
* **Exact resume:** a checkpoint holds the model, optimiser, scheduler, EMA, step, elapsed time, the
  Python/NumPy/torch (and CUDA) RNG states of every rank, and the validation history. The data need
  no saved state: a sample is a pure function of ``(seed, sample index)`` (:mod:`.data`), so resuming
  at step ``t`` draws exactly the batches an uninterrupted run would have drawn.
* **Time budget:** ``max_minutes`` stops cleanly with a checkpoint, so a long run fits in slots and
  resumes later with the same command; Ctrl-C does the same.
* **Several GPUs:** launched by ``torchrun`` (``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` in the
  environment), each process drives one GPU under DistributedDataParallel and takes an interleaved
  share of the samples; only rank 0 validates and writes files. Without those variables the same code
  runs in one process, on one GPU or the CPU.

The library does not print: progress goes to the ``on_progress`` callback and messages to ``on_log``,
so the CLI decides how to render them (style.md §4).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ..degrade import imresize, parse_degradation
from ..errors import BackendUnavailableError, UsageError
from .data import (
    PairedPatches,
    StepBatchSampler,
    SyntheticPairs,
    ValImage,
    list_images,
    pair_folders,
    paired_val_set,
    synthetic_val_set,
)
from .recompute import recompute_blocks_in_backward

TASKS = ("sr", "denoise", "jpeg", "derain", "deblur")
LOSSES = ("l1", "charbonnier", "l1+fft")

#: Degradation recipe used when the command names none (blind ranges, as the bundled models use).
DEFAULT_DEGRADATIONS: Mapping[str, tuple[str, ...]] = {
    "sr": ("bicubic",),
    "denoise": ("noise:0-50",),
    "jpeg": ("jpeg:10-50",),
    "derain": ("rain:heavy",),
    "deblur": ("blur",),
}

#: Channels of each task's network: the official JPEG CAR models are grayscale (``conventions.md`` §2.2).
DEFAULT_CHANNELS: Mapping[str, int] = {"sr": 3, "denoise": 3, "jpeg": 1, "derain": 3, "deblur": 3}


# ----------------------------------------------------------------------------------------- architectures
def _mambair_preset(
    embed_dim: int, depths: list[int], d_state: int, mlp_ratio: float
) -> Callable[[str, int, int], tuple[str, dict[str, Any]]]:
    def make(task: str, scale: int, channels: int) -> tuple[str, dict[str, Any]]:
        return "MambaIR", {
            "in_chans": channels, "img_size": 64, "img_range": 1.0, "embed_dim": embed_dim, "depths": depths,
            "d_state": d_state, "mlp_ratio": mlp_ratio, "resi_connection": "1conv", "upscale": scale,
            "upsampler": "pixelshuffledirect" if task == "sr" else "",
        }
    return make


def _mambairv2_light(task: str, scale: int, channels: int) -> tuple[str, dict[str, Any]]:
    return "MambaIRv2Light", {
        "in_chans": channels, "img_size": 64, "img_range": 1.0, "embed_dim": 48, "d_state": 8,
        "depths": [5, 5, 5, 5], "num_heads": [4, 4, 4, 4], "window_size": 16, "inner_rank": 32, "num_tokens": 64,
        "convffn_kernel_size": 5, "mlp_ratio": 1.0, "resi_connection": "1conv", "upscale": scale,
        "upsampler": "pixelshuffledirect" if task == "sr" else "",
    }


#: ``--arch`` presets: name -> f(task, scale, channels) -> (official class, constructor kwargs).
#: ``mambair-light`` and ``mambairv2-light`` are the official lightweight-SR configurations (with a
#: same-size head for denoising/JPEG); ``tiny`` is for tests and smoke runs.
ARCH_PRESETS: Mapping[str, Callable[[str, int, int], tuple[str, dict[str, Any]]]] = {
    "tiny": _mambair_preset(30, [1], 4, 1.0),
    "mambair-light": _mambair_preset(60, [6, 6, 6, 6], 10, 1.2),
    "mambairv2-light": _mambairv2_light,
}


def resolve_arch(arch: str, arch_kwargs: Mapping[str, Any], *, task: str, scale: int,
                 channels: int) -> tuple[str, dict[str, Any]]:
    """``--arch`` (a preset, an official class name, or ``module:Class``) -> (class, full kwargs).

    Explicit ``arch_kwargs`` override the preset's; ``in_chans`` and ``upscale`` default to the task's.
    """
    if arch in ARCH_PRESETS:
        class_name, kwargs = ARCH_PRESETS[arch](task, scale, channels)
    else:
        class_name, kwargs = arch, _task_kwargs(arch, channels, scale)
    kwargs.update(arch_kwargs)
    return class_name, kwargs


def _task_kwargs(class_name: str, channels: int, scale: int) -> dict[str, Any]:
    """The task's channel count and scale, spelled the way ``class_name``'s constructor spells them.

    MambaIR/MambaIRv2 take ``in_chans``/``upscale``; the U-Nets (MambaIRUNet, ACL, LAformer) take
    ``inp_channels``/``out_channels`` and have no scale.
    """
    if ":" in class_name:
        return {"in_chans": channels, "upscale": scale}
    from ..archs import constructor_arguments

    accepted = set(constructor_arguments(class_name))
    kwargs: dict[str, Any] = {}
    for name in ("in_chans", "inp_channels", "out_channels"):
        if name in accepted:
            kwargs[name] = channels
    if "upscale" in accepted:
        kwargs["upscale"] = scale
    elif scale != 1:
        raise UsageError(f"--arch {class_name} restores at the same size; it cannot do SR x{scale}")
    return kwargs


def build_network(class_name: str, kwargs: Mapping[str, Any]) -> nn.Module:
    """Build a registered architecture, or any importable ``package.module:Class`` (custom networks)."""
    if ":" in class_name:
        module_name, attr = class_name.split(":", 1)
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"--arch {class_name}: cannot import it ({exc}); check the module path") from exc
        return cls(**dict(kwargs))
    from .. import archs

    try:
        return archs.build(class_name, **dict(kwargs))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--arch {class_name}: bad constructor arguments ({exc}); check --arch-kwargs") from exc


# ----------------------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved in each checkpoint and in the model card).

    Data: ``data`` is a folder of clean images (degraded on the fly with ``degradations``), or a folder
    holding ``lq/`` and ``gt/`` (paired), or one holding ``train/`` (and ``val/``); ``lq`` + ``gt``
    name paired folders directly. ``val`` is a folder of clean images (degraded once, seeded per
    image, with ``val_degradations`` or else ``degradations``) or one holding ``lq/`` and ``gt/``.

    ``patch`` is the side of the clean (GT) patch; the network sees ``patch // scale`` for SR.
    """

    task: str = "sr"
    scale: int = 1
    arch: str = "tiny"
    arch_kwargs: Mapping[str, Any] = field(default_factory=dict)
    channels: int = 0  # 0 = the task's default
    data: str | None = None
    lq: str | None = None
    gt: str | None = None
    val: str | None = None
    degradations: tuple[str, ...] = ()
    val_degradations: tuple[str, ...] = ()
    val_crop: int = 0
    val_limit: int = 0
    val_tile: int = 0
    patch: int = 64
    rescale: float = 1.0  # smallest zoom-out factor of the clean patches (1 = off); synthetic data only
    batch_size: int = 16
    steps: int = 100_000
    lr: float = 2e-4
    min_lr: float = 1e-6
    warmup_steps: int = 1000
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    loss: str = "l1"
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    val_every: int = 5000
    ckpt_every: int = 1000
    log_every: int = 10
    out_dir: str = "runs/train"
    resume: bool = True
    max_minutes: float = 0.0
    stop_after: int = 0  # stop (with a checkpoint) after this many steps in this session; 0 = never
    # (a step budget per session: compare runs at equal steps on one schedule, or fit a slot)
    seed: int = 0
    init: str | None = None  # weights to start from (fine-tuning); ignored when resuming
    device: str = "auto"
    precision: str = "bf16"
    compile: bool = False
    grad_checkpoint: bool = False  # recompute block activations in the backward pass (less memory)
    workers: int = -1  # -1 = 4 on CUDA, 0 on the CPU
    export: bool = True
    export_id: str | None = None
    export_name: str | None = None
    export_fp16: bool = True
    export_on_stop: bool = False  # also validate and export when --max-minutes/--stop-after ends the run
    keep_best: bool = False  # keep best.pt (best validation PSNR) and export it if it beats the last step
    license: str = "Apache-2.0"

    # Fields that may change between a run and its resumption (where and how long, not what).
    RUNTIME_FIELDS = frozenset({
        "data", "lq", "gt", "val", "val_limit", "val_tile", "val_every", "ckpt_every", "log_every", "out_dir",
        "resume", "max_minutes", "stop_after", "init", "device", "compile", "grad_checkpoint", "workers", "export",
        "export_id",
        "export_name", "export_fp16", "export_on_stop", "keep_best", "license",
    })

    def resolved(self) -> TrainConfig:
        """Fill task defaults (channels, degradation recipe), validate, and return a new config.

        Raises:
            UsageError: for an unknown task or loss, a bad scale/patch, or missing data.
        """
        if self.task not in TASKS:
            raise UsageError(f"--task {self.task!r}: choose one of {', '.join(TASKS)}")
        scale = self.scale if self.task == "sr" else 1
        if self.task == "sr" and scale < 2:
            raise UsageError("--task sr needs --scale 2, 3 or 4 (or another integer >= 2)")
        if self.loss not in LOSSES:
            raise UsageError(f"--loss {self.loss!r}: choose one of {', '.join(LOSSES)}")
        if self.precision not in ("bf16", "fp32"):
            raise UsageError(f"--precision {self.precision!r}: choose bf16 or fp32")
        if self.patch < 8 or self.patch % scale:
            raise UsageError(f"--patch {self.patch} must be at least 8 and a multiple of the scale {scale}")
        if self.batch_size < 1 or self.steps < 1:
            raise UsageError("--batch-size and --max-steps must be positive")
        if not 0.0 < self.rescale <= 1.0:
            raise UsageError(f"--rescale {self.rescale:g} must be in (0, 1]: the smallest zoom-out factor (1 = off)")
        if self.data is None and (self.lq is None or self.gt is None):
            raise UsageError("no training data: give --data DIR (clean images, or lq/ + gt/) or --lq DIR --gt DIR")
        degradations = self.degradations or DEFAULT_DEGRADATIONS[self.task]
        steps = [parse_degradation(s) for s in degradations]
        if self.task == "sr" and not any(d.kind == "bicubic" for d in steps):
            steps.insert(0, parse_degradation("bicubic"))
        if self.task != "sr" and any(d.kind == "bicubic" for d in steps):
            raise UsageError("the bicubic degradation is for --task sr only")
        val_steps = [parse_degradation(s) for s in self.val_degradations] or steps
        if self.task == "sr" and not any(d.kind == "bicubic" for d in val_steps):
            val_steps.insert(0, parse_degradation("bicubic"))
        return replace(
            self, scale=scale, channels=self.channels or DEFAULT_CHANNELS[self.task],
            degradations=tuple(str(d) for d in steps), val_degradations=tuple(str(d) for d in val_steps),
            arch_kwargs=dict(self.arch_kwargs),
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arch_kwargs"] = dict(self.arch_kwargs)
        d["degradations"], d["val_degradations"] = list(self.degradations), list(self.val_degradations)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for key in ("degradations", "val_degradations", "betas"):
            if key in kw:
                kw[key] = tuple(kw[key])
        return cls(**kw)


@dataclass(frozen=True)
class Progress:
    """One progress report: step counts, the running loss, learning rate, speed, time left."""

    step: int
    total: int
    loss: float
    lr: float
    it_per_s: float
    eta_s: float
    elapsed_s: float
    psnr: float | None = None


@dataclass(frozen=True)
class ValResult:
    """Mean validation numbers (and those of the plain input / bicubic baseline) with their convention."""

    step: int
    psnr: float
    ssim: float
    baseline_psnr: float
    baseline_ssim: float
    convention: str
    images: int
    per_image: tuple[tuple[str, float, float], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["per_image"] = [list(x) for x in self.per_image]
        return d


@dataclass(frozen=True)
class TrainResult:
    """What a call to :func:`train` achieved."""

    step: int
    total: int
    completed: bool
    reason: str  # "done", "time budget", "stop_after", "interrupted"
    checkpoint: Path | None
    validation: ValResult | None
    export: tuple[Path, Path] | None
    elapsed_s: float


ProgressFn = Callable[[Progress], None]
LogFn = Callable[[str], None]


# ----------------------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class DistInfo:
    """This process's place in a ``torchrun`` job (world of 1 when not launched by torchrun)."""

    rank: int = 0
    local_rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DistInfo:
        env = os.environ if env is None else env
        world = int(env.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(rank=int(env.get("RANK", "0")), local_rank=int(env.get("LOCAL_RANK", "0")), world=world)

    @property
    def main(self) -> bool:
        return self.rank == 0


def metric_convention(task: str, scale: int, channels: int) -> tuple[int, bool, str]:
    """``(crop_border, y_channel, description)`` of each task's published metric (``conventions.md`` §2)."""
    if task == "sr":
        return scale, True, f"PSNR/SSIM on Y, {scale} px border cropped (BasicSR)"
    if channels == 1:
        return 0, False, "PSNR/SSIM on gray (Y), no border cropped"
    if task == "derain":
        return 0, True, "PSNR/SSIM on Y, no border cropped (BasicSR float Y)"
    return 0, False, "PSNR/SSIM on RGB, no border cropped (BasicSR)"


class CosineWithWarmup:
    """Learning-rate factor: linear warm-up from ~0 to 1, then a cosine down to ``min_ratio``."""

    def __init__(self, warmup: int, total: int, min_ratio: float) -> None:
        self.warmup, self.total, self.min_ratio = warmup, total, min_ratio

    def __call__(self, step: int) -> float:
        if self.warmup > 0 and step < self.warmup:
            return (step + 1) / self.warmup
        span = max(1, self.total - self.warmup)
        progress = min(1.0, (step - self.warmup) / span)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class EMA:
    """Exponential moving average of a model's parameters (buffers copied), kept in float32."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        # Short effective horizon at the start, so early EMA weights are not dominated by the init.
        d = min(self.decay, (1.0 + step) / (10.0 + step))
        for e, p in zip(self.module.parameters(), model.parameters(), strict=True):
            e.lerp_(p.detach(), 1.0 - d)
        for e, b in zip(self.module.buffers(), model.buffers(), strict=True):
            e.copy_(b)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [v.tolist() if isinstance(v, np.ndarray) else v for v in np.random.get_state()],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(_tuplify(state["python"]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"].cpu())


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, list | tuple) else x


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _init_weights_path(spec: str) -> Path:
    """``--init`` names a weights file, or a model card (TOML) whose weights are local (bundled or beside it)."""
    path = Path(spec)
    if path.suffix.lower() != ".toml":
        return path
    from ..cards import read_card

    weights = read_card(path).bundled_path()
    if weights is None:
        raise UsageError(f"--init {spec}: the card names no local weights file; pass the weights file instead")
    return weights


def initialise_from(model: nn.Module, spec: str) -> str:
    """Copy every tensor of the weights ``spec`` whose name and shape fit ``model``; return a log line.

    Tensors that do not fit (a new SR head when fine-tuning x2 from x4, another channel count) keep
    their random initialisation, so a model can start from a relative's weights; except the last layer
    of each residual branch the network declares (``RESIDUAL_BRANCH_OUTPUTS``), which is zeroed: the
    blocks a deeper model adds then start as the identity, and the grown model computes exactly what
    the model it grew from did.

    Raises:
        UsageError: when no tensor fits (the weights belong to another architecture).
    """
    from ..checkpoint import load_state_dict

    state = load_state_dict(_init_weights_path(spec))
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    if not fitting:
        raise UsageError(f"--init {spec}: none of its {len(state)} tensors fits the network being trained "
                         "(another architecture or size?); check --arch/--arch-kwargs")
    for key, value in fitting.items():
        own[key].copy_(value.to(own[key].dtype))
    branch_outputs = tuple(f".{name}." for name in getattr(model, "RESIDUAL_BRANCH_OUTPUTS", ()))
    zeroed = sorted(k for k in set(own) - set(fitting) if any(name in f".{k}" for name in branch_outputs))
    for key in zeroed:
        own[key].zero_()
    left = sorted(set(own) - set(fitting) - set(zeroed))
    shown = ", ".join(left[:4]) + (", ..." if len(left) > 4 else "")
    return (f"initialised {len(fitting)}/{len(own)} tensors from {spec}"
            + (f"; {len(zeroed)} residual-branch outputs of new blocks zeroed (they start as the identity)"
               if zeroed else "")
            + (f"; {len(left)} keep their random init ({shown})" if left else ""))


def _pick_device(spec: str, info: DistInfo) -> torch.device:
    if info.world > 1 and torch.cuda.is_available():
        return torch.device("cuda", info.local_rank)
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise UsageError(f"--device {spec!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {spec}: no CUDA device is available here; use --device cpu")
    return device


def describe_device(device: torch.device, world: int = 1) -> str:
    """``"4 x NVIDIA H100 80GB HBM3"`` or ``"CPU"``: recorded in the checkpoint and the model card."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return f"{world} x {name}" if world > 1 else name


# ----------------------------------------------------------------------------------------- data setup
def _training_set(cfg: TrainConfig) -> SyntheticPairs | PairedPatches:
    root = Path(str(cfg.data))
    pairs = None
    if cfg.lq is not None and cfg.gt is not None:
        pairs = pair_folders(cfg.lq, cfg.gt, scale=cfg.scale)
    elif (root / "lq").is_dir() and (root / "gt").is_dir():
        pairs = pair_folders(root / "lq", root / "gt", scale=cfg.scale)
    if pairs is not None:
        if cfg.rescale < 1.0:  # zooming a pair out would also shrink its blur or rain: not the same task
            raise UsageError("--rescale works on clean photos degraded on the fly, not on paired lq/gt data")
        return PairedPatches(pairs, patch=cfg.patch, scale=cfg.scale, channels=cfg.channels, seed=cfg.seed)
    if (root / "train").is_dir():
        root = root / "train"
    return SyntheticPairs(
        list_images(root), patch=cfg.patch, scale=cfg.scale, channels=cfg.channels,
        degradations=[parse_degradation(s) for s in cfg.degradations], seed=cfg.seed, rescale=cfg.rescale,
    )


def validation_set(cfg: TrainConfig) -> tuple[list[ValImage], Path | None]:
    """The validation pairs of a resolved config and the folder they came from (``None``: no validation).

    Clean images are degraded once with ``val_degradations``, seeded per image name, so any model
    evaluated on the same folder and recipe sees identical inputs (``tools/evaluate_card.py`` uses this
    to measure exported models on the validation and test photos).
    """
    val = cfg.val
    if val is None and cfg.data is not None and (Path(cfg.data) / "val").is_dir():
        val = str(Path(cfg.data) / "val")
    if val is None:
        return [], None
    root = Path(val)
    if (root / "lq").is_dir() and (root / "gt").is_dir():
        pairs = pair_folders(root / "lq", root / "gt", scale=cfg.scale)
        images = paired_val_set(pairs, scale=cfg.scale, channels=cfg.channels, crop=cfg.val_crop, limit=cfg.val_limit)
        return images, root
    images = synthetic_val_set(
        list_images(root), scale=cfg.scale, channels=cfg.channels,
        degradations=[parse_degradation(s) for s in cfg.val_degradations], seed=cfg.seed + 12345,
        crop=cfg.val_crop, limit=cfg.val_limit,
    )
    return images, root


def _folder_name(path: Path) -> str:
    """``corpus/val`` rather than just ``val``: the last two parts name a folder recognisably."""
    parts = path.resolve().parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else str(path)


def _describe_data(cfg: TrainConfig, dataset: Any, val: Sequence[ValImage], val_root: Path | None) -> dict[str, Any]:
    """What the run trained and validated on, in words, for the checkpoint and the model card."""
    paired = isinstance(dataset, PairedPatches)
    if cfg.lq is not None and cfg.gt is not None:
        train = f"{len(dataset)} pairs from {_folder_name(Path(cfg.lq))} and {_folder_name(Path(cfg.gt))}"
    else:
        what = "pairs" if paired else "clean images"
        root = Path(str(cfg.data))
        train = f"{len(dataset)} {what} from {_folder_name(root)}"
    info: dict[str, Any] = {"train": train, "paired": paired}
    if val_root is not None:
        crop = f", centre crops of {cfg.val_crop} px" if cfg.val_crop else ""
        how = "" if (val_root / "lq").is_dir() else f" degraded once with {', '.join(cfg.val_degradations)}"
        info["val"] = f"{len(val)} held-out images from {_folder_name(val_root)}{how}{crop}"
        info["val_name"] = f"{_folder_name(val_root)} ({len(val)} images{crop})"
    return info


# ----------------------------------------------------------------------------------------- validation
def evaluate(
    module: nn.Module,
    images: Sequence[ValImage],
    *,
    task: str,
    scale: int,
    channels: int,
    device: torch.device,
    step: int = 0,
    tile: int = 0,
    self_ensemble: bool = False,
) -> ValResult:
    """PSNR/SSIM of ``module`` on validation pairs, on the 8-bit outputs, with the task's convention.

    The baseline is the degraded input itself, or for SR its MATLAB-bicubic upscaling, so the gain
    over doing nothing is visible next to each number. Runs in fp32 (through the inference engine, so
    large images are tiled) and restores ``module``'s train/eval mode afterwards. ``self_ensemble``
    averages the 8 flips/transposes, as ``restore --self-ensemble`` does.
    """
    from ..engine.model import LoadedModel
    from ..engine.run import restore_tensor, to_numpy, to_tensor
    from ..metrics import psnr, quantize, ssim

    crop, y_channel, convention = metric_convention(task, scale, channels)
    window = getattr(module, "window_size", None)
    loaded = LoadedModel(
        module=module, arch=type(module).__name__, scale=scale, in_channels=channels, device=device,
        precision="fp32", task=task, min_tile=max(16, window if isinstance(window, int) else 16),
    )
    was_training = module.training
    module.eval()
    routing = getattr(module, "_routing", None)
    saved_mode = getattr(routing, "mode", None)
    if saved_mode == "gumbel":  # validate the way `restore` runs models: deterministic routing
        module.set_routing("argmax")  # type: ignore[operator]
    rows, base = [], []
    try:
        for item in images:
            out = to_numpy(restore_tensor(loaded, to_tensor(item.lq), tile=tile, overlap=16,
                                           self_ensemble=self_ensemble))
            gt = item.gt[: item.lq.shape[0] * scale, : item.lq.shape[1] * scale]
            ref = quantize(gt)
            pred = quantize(out)
            baseline = quantize(imresize(item.lq, scale) if scale > 1 else item.lq)
            if channels == 1:
                ref, pred, baseline = ref[..., 0], pred[..., 0], baseline[..., 0]
            kw = {"crop_border": crop, "y_channel": y_channel}
            rows.append((item.name, psnr(pred, ref, **kw), ssim(pred, ref, **kw)))
            base.append((psnr(baseline, ref, **kw), ssim(baseline, ref, **kw)))
    finally:
        module.train(was_training)
        if saved_mode == "gumbel":
            module.set_routing("gumbel")  # type: ignore[operator]

    def mean(values: Sequence[float]) -> float:
        return float(np.mean(values)) if values else float("nan")

    return ValResult(
        step=step, psnr=mean([r[1] for r in rows]), ssim=mean([r[2] for r in rows]),
        baseline_psnr=mean([b[0] for b in base]), baseline_ssim=mean([b[1] for b in base]),
        convention=convention, images=len(rows), per_image=tuple(rows),
    )


# ----------------------------------------------------------------------------------------- the loop
FFT_LOSS_WEIGHT = 0.1


def frequency_l1(out: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the two images' 2D spectra (real and imaginary parts).

    The frequency loss of MIMO-UNet (Cho et al., ICCV 2021), used by most deblurring networks since: a
    pixel loss barely penalises the faint high frequencies a blur removes, while in the spectrum every
    frequency weighs the same. ``rfft2`` of float32 images, ``norm="backward"`` as in that paper.
    """
    diff = torch.fft.rfft2(out.float()) - torch.fft.rfft2(gt.float())
    return torch.view_as_real(diff).abs().mean()


def loss_function(kind: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if kind == "charbonnier":
        return lambda out, gt: torch.sqrt((out - gt) ** 2 + 1e-6).mean()
    if kind == "l1+fft":
        return lambda out, gt: (out - gt).abs().mean() + FFT_LOSS_WEIGHT * frequency_l1(out, gt)
    return lambda out, gt: (out - gt).abs().mean()


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def checkpoint_path(out_dir: str | Path) -> Path:
    """Where :func:`train` keeps the resumable checkpoint of a run."""
    return Path(out_dir) / "last.pt"


def _check_resume_config(saved: TrainConfig, cfg: TrainConfig) -> None:
    for f in fields(TrainConfig):
        if f.name in TrainConfig.RUNTIME_FIELDS:
            continue
        a, b = getattr(saved, f.name), getattr(cfg, f.name)
        if json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str):
            raise UsageError(
                f"{cfg.out_dir} holds a run with {f.name}={a!r}, not {b!r}; use the same settings to "
                "resume, or another --out for a new run"
            )


def train(config: TrainConfig, *, on_progress: ProgressFn | None = None, on_log: LogFn | None = None) -> TrainResult:
    """Train (or resume training) a restoration network; see the module docstring.

    Args:
        config: the run; ``config.out_dir`` receives ``last.pt`` (resumable checkpoint),
            ``val.jsonl`` (validation history) and ``export/`` (weights + card) at the end.
        on_progress: called every ``log_every`` steps (rank 0 only).
        on_log: called with one-line messages: resume, validation results, checkpoints (rank 0 only).

    Returns:
        A :class:`TrainResult`; ``completed`` is False when a time budget, ``stop_after`` or Ctrl-C ended
        the session early (run the same command again to continue).

    Raises:
        UsageError: bad settings or data, or a checkpoint from a run with different settings.
    """
    cfg = config.resolved()
    info = DistInfo.from_env()
    device = _pick_device(cfg.device, info)
    if device.type == "cuda":
        # Patches have a fixed size, so cuDNN's autotuner pays off at once; without it the depthwise
        # and dilated convolutions of these models fall back to slow kernels in their backward pass.
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    started_pg = False
    if info.world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        started_pg = True
    try:
        return _Session(cfg, info, device, on_progress, on_log).run()
    finally:
        if started_pg:
            dist.destroy_process_group()


class _Session:
    """One process's share of one training session (state that :func:`train` threads through)."""

    def __init__(self, cfg: TrainConfig, info: DistInfo, device: torch.device,
                 on_progress: ProgressFn | None, on_log: LogFn | None) -> None:
        self.cfg, self.info, self.device = cfg, info, device
        self.on_progress = on_progress if info.main else None
        self.log = (on_log or (lambda _m: None)) if info.main else (lambda _m: None)
        self.out_dir = Path(cfg.out_dir)
        self.ckpt_path = checkpoint_path(self.out_dir)
        self.best_path = self.out_dir / "best.pt"

    # -- setup ------------------------------------------------------------------------------------
    def _build(self) -> None:
        cfg = self.cfg
        self.arch_class, self.arch_kwargs = resolve_arch(
            cfg.arch, cfg.arch_kwargs, task=cfg.task, scale=cfg.scale, channels=cfg.channels
        )
        _seed_everything(cfg.seed)  # identical initial weights on every rank and every fresh run
        self.model = build_network(self.arch_class, self.arch_kwargs).to(self.device).train()
        if cfg.init and not self.ckpt_path.is_file():
            self.log(initialise_from(self.model, cfg.init))
        model_scale = getattr(self.model, "scale", None)
        if isinstance(model_scale, int) and model_scale != cfg.scale:
            raise UsageError(
                f"--arch {cfg.arch} outputs x{model_scale} but the task needs x{cfg.scale}; "
                "set upscale/upsampler in --arch-kwargs"
            )
        if hasattr(self.model, "set_routing"):
            # MambaIRv2 routes tokens with a straight-through Gumbel sample in training (as the official
            # code does), so the router gets gradients; its noise comes from the global torch RNG, whose
            # state the checkpoints keep. Validation and export use the deterministic argmax routing.
            self.model.set_routing("gumbel")
        self.ema = EMA(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        if self.ema is not None and hasattr(self.ema.module, "set_routing"):
            self.ema.module.set_routing("argmax")
        if cfg.grad_checkpoint:
            wrapped = recompute_blocks_in_backward(self.model)
            self.log(f"--grad-checkpoint: {wrapped} blocks recompute their activations in the backward pass"
                     if wrapped else f"--grad-checkpoint: {self.arch_class} lists no repeated blocks; ignored")
        # One fused kernel for the whole update on CUDA (the per-tensor loop cost ~12 ms a step for
        # light MambaIR on an H100); same maths and state layout, so checkpoints move between devices.
        self.optimizer = torch.optim.AdamW(
            _param_groups(self.model, cfg.weight_decay), lr=cfg.lr, betas=tuple(cfg.betas),
            fused=self.device.type == "cuda",
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, CosineWithWarmup(cfg.warmup_steps, cfg.steps, cfg.min_lr / cfg.lr)
        )
        self.ddp: nn.Module = self.model
        if self.info.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        # Compiled lazily at the first step (patches have one size, so one graph); the wrapper shares
        # the module's parameters, so the optimiser, EMA and checkpoints see the same tensors.
        self.train_forward: Callable[[torch.Tensor], torch.Tensor] = (
            torch.compile(self.ddp) if cfg.compile else self.ddp
        )
        self.step = 0
        self.elapsed_before = 0.0
        self.history: list[dict[str, Any]] = []
        _seed_everything(cfg.seed + 1000 * self.info.rank + 1)

    def _resume(self) -> bool:
        cfg = self.cfg
        if not self.ckpt_path.is_file():
            return False
        if not cfg.resume:
            raise UsageError(f"{self.ckpt_path} exists; pass --resume to continue it, or choose another --out")
        state = torch.load(self.ckpt_path, map_location="cpu", weights_only=True)
        _check_resume_config(TrainConfig.from_dict(state["config"]), cfg)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.module.load_state_dict(state["ema"])
        self.step = int(state["step"])
        self.elapsed_before = float(state.get("elapsed_s", 0.0))
        self.history = list(state.get("history", []))
        rngs = state.get("rng", [])
        if self.info.rank < len(rngs) and int(state.get("world", 1)) == self.info.world:
            _set_rng_state(rngs[self.info.rank])
        else:
            _seed_everything(cfg.seed + 1000 * self.info.rank + 7919 * self.step + 1)
            self.log(f"world size changed from {state.get('world', 1)} to {self.info.world}: "
                     "RNG streams reseeded (data order stays deterministic)")
        self.log(f"resumed {self.ckpt_path} at step {self.step}/{cfg.steps}")
        return True

    # -- checkpoints ------------------------------------------------------------------------------
    def _save(self, elapsed: float, *, collective: bool = True, path: Path | None = None) -> Path | None:
        rng = _rng_state()
        if self.info.world > 1 and collective:
            gathered: list[Any] = [None] * self.info.world
            dist.all_gather_object(gathered, rng)
        else:
            gathered = [rng]
        if not self.info.main:
            return None
        state = {
            "format": 1,
            "step": self.step,
            "world": self.info.world if collective else 1,
            "config": self.cfg.to_dict(),
            "arch": {"class": self.arch_class, "kwargs": self.arch_kwargs},
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "ema": self.ema.module.state_dict() if self.ema is not None else None,
            "rng": gathered,
            "elapsed_s": elapsed,
            "device": describe_device(self.device, self.info.world),
            "data": self.data_info,
            "history": self.history,
        }
        path = path or self.ckpt_path
        _atomic_save(state, path)
        return path

    # -- validation -------------------------------------------------------------------------------
    def _validate(self, elapsed_s: float) -> ValResult | None:
        """Validate the EMA weights; with ``keep_best``, save them as best.pt when they beat every earlier
        validation. ``elapsed_s`` is the run's training time so far, recorded in best.pt for its export."""
        result = None
        if self.info.main and self.val_images:
            module = self.ema.module if self.ema is not None else self.model
            result = evaluate(
                module, self.val_images, task=self.cfg.task, scale=self.cfg.scale, channels=self.cfg.channels,
                device=self.device, step=self.step, tile=self.cfg.val_tile,
            )
            record = {k: v for k, v in result.as_dict().items() if k != "per_image"}
            best_before = max((h["psnr"] for h in self.history), default=-math.inf)
            self.history.append(record)
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / "val.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(result.as_dict()) + "\n")
            self.log(
                f"step {self.step}: PSNR {result.psnr:.2f} dB, SSIM {result.ssim:.4f} on {result.images} "
                f"image(s) (input {result.baseline_psnr:.2f} dB, {result.convention})"
            )
            if self.cfg.keep_best and result.psnr > best_before:
                # Main rank only, no collective: the RNG state it records is never resumed from.
                self._save(elapsed_s, collective=False, path=self.best_path)
                self.log(f"best validation so far: {self.best_path}")
        if self.info.world > 1:
            dist.barrier()
        return result

    # -- main loop --------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.cfg
        self._build()
        self._resume()
        dataset = _training_set(cfg)
        self.val_images, val_root = validation_set(cfg) if self.info.main else ([], None)
        self.data_info = _describe_data(cfg, dataset, self.val_images, val_root)
        workers = cfg.workers if cfg.workers >= 0 else (4 if self.device.type == "cuda" else 0)
        sampler = StepBatchSampler(cfg.batch_size, self.step, cfg.steps, rank=self.info.rank, world=self.info.world)
        loader = torch.utils.data.DataLoader(
            dataset, batch_sampler=sampler, num_workers=workers, pin_memory=self.device.type == "cuda",
            persistent_workers=False, **({"prefetch_factor": 4} if workers > 0 else {}),
            # Its own generator, so creating the loader does not draw from the global torch RNG and a
            # resumed run's RNG stream stays identical to an uninterrupted one.
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        if self.step == 0:
            self.log(f"training {self.arch_class} ({sum(p.numel() for p in self.model.parameters()):,} parameters) "
                     f"for {cfg.task}{f' x{cfg.scale}' if cfg.task == 'sr' else ''} on {len(dataset)} image(s), "
                     f"{cfg.steps} steps of {cfg.batch_size} x {self.info.world} patches of {cfg.patch} px, "
                     f"on {self.device}")
        loss_fn = loss_function(cfg.loss)
        use_bf16 = self.device.type == "cuda" and cfg.precision == "bf16"
        autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else contextlib.nullcontext
        session_start = time.monotonic()
        start_step = self.step
        window_start, window_steps = session_start, 0
        loss_sum = torch.zeros((), device=self.device)
        last_val: ValResult | None = None
        reason = "done"
        budget_s = cfg.max_minutes * 60.0 if cfg.max_minutes > 0 else math.inf

        def elapsed() -> float:
            return self.elapsed_before + time.monotonic() - session_start

        try:
            for lq, gt in loader:
                lq = lq.to(self.device, non_blocking=True)
                gt = gt.to(self.device, non_blocking=True)
                try:
                    with autocast():
                        out = self.train_forward(lq)
                    loss = loss_fn(out.float(), gt)
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                except RuntimeError as exc:
                    if "automatic differentiation" in str(exc) or "does not require grad" in str(exc):
                        raise BackendUnavailableError(
                            f"the network's kernels on {self.device.type} support inference only ({exc}); "
                            "training needs a differentiable selective-scan backend"
                        ) from exc
                    raise
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                self.optimizer.step()
                self.scheduler.step()
                if self.ema is not None:
                    self.ema.update(self.model, self.step)
                self.step += 1
                window_steps += 1
                loss_sum += loss.detach()

                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    now = time.monotonic()
                    rate = window_steps / max(now - window_start, 1e-9)
                    if self.on_progress is not None:
                        self.on_progress(Progress(
                            step=self.step, total=cfg.steps, loss=float(loss_sum) / window_steps,
                            lr=self.scheduler.get_last_lr()[0], it_per_s=rate,
                            eta_s=(cfg.steps - self.step) / max(rate, 1e-9), elapsed_s=elapsed(),
                            psnr=last_val.psnr if last_val else None,
                        ))
                    window_start, window_steps = now, 0
                    loss_sum.zero_()
                if self.step % cfg.val_every == 0 and self.step < cfg.steps:
                    last_val = self._validate(elapsed()) or last_val
                if self.step % cfg.ckpt_every == 0 and self.step < cfg.steps:
                    self._save(elapsed())
                    self.log(f"checkpoint at step {self.step}: {self.ckpt_path}")
                stop = None
                if elapsed() - self.elapsed_before > budget_s:
                    stop = "time budget"
                elif cfg.stop_after and self.step - start_step >= cfg.stop_after and self.step < cfg.steps:
                    stop = "stop_after"
                if self.info.world > 1 and budget_s < math.inf:  # ranks must agree on when to stop
                    flag = torch.tensor([1.0 if stop else 0.0], device=self.device)
                    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                    stop = stop or ("time budget" if flag.item() > 0 else None)
                if stop is not None and self.step < cfg.steps:
                    reason = stop
                    break
        except KeyboardInterrupt:
            reason = "interrupted"
            path = self._save(elapsed(), collective=False) if self.step > start_step else None
            self.log(f"interrupted at step {self.step}; checkpoint {path}; run the same command to resume")
            return TrainResult(self.step, cfg.steps, False, reason, path, last_val, None, elapsed())

        completed = self.step >= cfg.steps
        export_paths = None
        final = completed or (cfg.export_on_stop and reason in ("time budget", "stop_after"))
        if final:
            last_val = self._validate(elapsed()) or last_val
        path = self._save(elapsed())
        if not completed:
            self.log(f"stopped at step {self.step}/{cfg.steps} ({reason}); checkpoint {path}; "
                     "run the same command to resume")
        if final and cfg.export and self.info.main:
            from .export import export_run

            source = self.ckpt_path
            if cfg.keep_best and self.best_path.is_file() and self.history:
                best = max(self.history, key=lambda h: h["psnr"])
                if best["psnr"] > self.history[-1]["psnr"]:
                    source = self.best_path
                    self.log(f"exporting step {best['step']} ({best['psnr']:.2f} dB), the best validation")
            export_paths = export_run(source, self.out_dir / "export")
            self.log(f"exported {export_paths[0]} and {export_paths[1]}")
        return TrainResult(self.step, cfg.steps, completed, reason, path, last_val, export_paths, elapsed())

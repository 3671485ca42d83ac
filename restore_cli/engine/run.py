"""Run a :class:`LoadedModel` over an image tensor: whole, or in blended overlapping tiles.

Memory on the device is bounded by the tile size: the image stays on the CPU and only batches of tiles
travel to the device, so 4K and larger images run in a few GiB. On CUDA out-of-memory the image is
retried with tiles half as large. Tiles are blended with windows that sum to one (see
:mod:`.tiling`), so there is no seam.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch
import torch.nn.functional as F

from .ensemble import ensemble
from .graphs import graphs_supported
from .model import LoadedModel
from .tiling import BlendCanvas, Tile, official_partition, plan_tiles

ProgressFn = Callable[[int, int], None]

# Peak memory per input pixel in float32, measured for each family at its released sizes on an H100
# (2026-11-23, the README's Performance tables: MambaIR colour DN whole 1280x720 on the channel-last
# path 15.1 kB; MambaIRv2 Base x4 through tiles ~17 kB with its tail; MambaIRUNet ~13 kB in bf16; ACL 5.2
# and LAformer 3.4 kB at 2048 px). An SR model's output-resolution tail added about as much again at x4
# (MambaIR classic x4: 24 kB). Half precision measured 0.55-0.9 of float32. A family not listed gets the
# old conservative figure. The CPU's estimate (its RAM) and families without a CUDA figure below use it.
# The OOM retry (smaller tiles) covers what an estimate misses.
_FP32_BYTES_PER_PIXEL: Mapping[str, float] = MappingProxyType({
    "MambaIR": 15_000, "MambaIRv2": 10_000, "MambaIRv2Light": 10_000, "MambaIRUNet": 20_000,
    "ACL": 5_200, "LAformer": 3_400,
})
_UNKNOWN_FP32_BYTES_PER_PIXEL = 48_000
# On CUDA, for the families re-measured on the current kernels (tools/jobs/memory_per_pixel.py; H100,
# whole images, CUDA graphs, peak over the first calls less the weights): what each further input pixel
# costs, the slope between two sizes (1/4 and the full 540x960 for x4, 360x640 and 720x1280 for colour
# DN), rounded up over the family's cards. Thirty-first session (perf31c-memory-per-pixel.txt), in bf16 /
# float32: MambaIR classic x4 4.3 / 5.0 kB, colour DN 4.2 / 5.3, light x4 1.9 / 2.7. Thirty-second
# (perf32h-memory-per-pixel.txt, the aligned, chained default path): MambaIRv2 Base x4 8.7 / 12.6 (12.0 /
# 15.3 before), light x4 2.7 / 3.4 (3.7 / 4.4). The SR tail no longer scales with the output (it runs in
# bands: ``RestorationNet.tail_band_pixels``), so the scale does not enter. fp16 is taken as bf16. Plus
# what a forward holds whatever its size (workspaces, the graph's pool: classic x4 at 270x480 held ~0.7
# GiB beyond its slope), reserved off the budget.
_CUDA_BYTES_PER_PIXEL: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "MambaIR": {"half": 4_400, "fp32": 5_300},
    "MambaIRv2": {"half": 8_800, "fp32": 12_700},
    "MambaIRv2Light": {"half": 2_700, "fp32": 3_500},
})
_CUDA_FIXED_BYTES = 2**30
_ESTIMATE_MARGIN = 1.5
# Outputs up to this size come back from a GPU through page-locked memory (PyTorch's caching host
# allocator, so one buffer serves every image or tile of a size); larger ones, rare, through ordinary
# memory rather than lock that much RAM.
PINNED_OUTPUT_LIMIT_BYTES = 512 * 2**20
# CPU tiles: 512 px where half the available RAM holds one (the bundled deblurring LAformer on a 768x576
# photo, two cores: tiles of 256 30.97 dB in 35 s, 384 31.16 dB in 31 s, 512 31.29 dB in 31 s, the whole
# image 31.46 dB in 54 s: larger tiles are better, and up to ~512 no slower, past it the CPU's caches lose),
# smaller where RAM is short, 256 where it is unknown (the old fixed tile).
_CPU_AUTO_TILE = 512
_CPU_MIN_AUTO_TILE = 256
_CPU_BUDGET_FRACTION = 0.5  # of the available RAM: images, the runner's pipeline and Python hold the rest


def available_host_memory() -> float | None:
    """Bytes of RAM this process can still use: Linux's MemAvailable, lowered to the cgroup's limit
    (a container's) when it has one; None where neither can be read."""
    available = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = float(line.split()[1]) * 1024
                    break
    except OSError:
        return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = float(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            headroom = float(limit) - used
            available = headroom if available is None else min(available, headroom)
    except (OSError, ValueError):
        pass
    return available


def bytes_per_input_pixel(arch: str, scale: int, precision: str, *, cuda: bool = False) -> float:
    """Estimated peak bytes per input pixel of a whole-image forward pass, with a safety margin: on a CUDA
    device (``cuda``) from the current kernels' measurements where the family has them, else from the
    older per-family figures, which also stand for the CPU."""
    measured = _CUDA_BYTES_PER_PIXEL.get(arch) if cuda else None
    if measured is not None:
        return measured["fp32" if precision == "fp32" else "half"] * _ESTIMATE_MARGIN
    base = _FP32_BYTES_PER_PIXEL.get(arch, _UNKNOWN_FP32_BYTES_PER_PIXEL)
    tail = 1.0 + max(1, scale) ** 2 / 16
    half = 1.0 if precision == "fp32" else 0.75
    return base * tail * half * _ESTIMATE_MARGIN


def tile_side_for_budget(budget_bytes: float, arch: str, scale: int, precision: str, *, cuda: bool = False) -> int:
    """The side of the largest square input tile whose forward pass fits ``budget_bytes`` (on CUDA, less
    what a forward holds whatever its size, for the families measured there)."""
    if cuda and arch in _CUDA_BYTES_PER_PIXEL:
        budget_bytes -= _CUDA_FIXED_BYTES
    per_pixel = bytes_per_input_pixel(arch, scale, precision, cuda=cuda)
    return int(math.sqrt(max(0.0, budget_bytes) / per_pixel))


def auto_tile(model: LoadedModel, h: int, w: int) -> int:
    """Tile side for an image of h x w: 0 (whole image) when it fits, else the largest that fits.

    On CUDA the budget is 60% of the free memory. On the CPU tiles of 512 px where half the available
    RAM holds one (see ``_CPU_AUTO_TILE``: faster than the whole image and than small tiles), never
    below 256. Tiles change a global model's output, so the largest that pays is taken.
    """
    if model.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(model.device)
        side = tile_side_for_budget(0.6 * free, model.arch, model.scale, model.precision, cuda=True)
    else:
        available = available_host_memory()
        fits = 0 if available is None else tile_side_for_budget(_CPU_BUDGET_FRACTION * available, model.arch,
                                                                 model.scale, model.precision)
        side = max(_CPU_MIN_AUTO_TILE, min(_CPU_AUTO_TILE, fits))
    if h * w <= side * side and max(h, w) <= 2 * side:
        return 0
    return max(model.min_tile, side // 8 * 8)


def _autocast(model: LoadedModel):
    dtype = model.autocast_dtype
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=model.device.type, dtype=dtype)


_tf32_lock = threading.Lock()
_tf32_users = 0
_tf32_saved: tuple[bool, bool] = (False, False)


@contextlib.contextmanager
def exact_fp32(enabled: bool = True):
    """Turn off TF32 in cuDNN convolutions and CUDA GEMMs for the duration (restored afterwards).

    PyTorch runs float32 convolutions in TF32 (10-bit mantissa) by default on Ampere and later GPUs, so a
    "float32" result would differ from true float32 by ~1e-4 relative, more than algorithm choices do.
    ``--precision fp32`` means float32; the half-precision modes are the fast ones. The switches are
    process-wide and the GPUs of a multi-GPU run are driven from threads, so the first thread in turns
    them off and the last one out restores them.
    """
    global _tf32_users, _tf32_saved
    if not enabled:
        yield
        return
    with _tf32_lock:
        if _tf32_users == 0:
            _tf32_saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        _tf32_users += 1
    try:
        yield
    finally:
        with _tf32_lock:
            _tf32_users -= 1
            if _tf32_users == 0:
                torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = _tf32_saved


def forward(model: LoadedModel, x: torch.Tensor, *, self_ensemble: bool = False) -> torch.Tensor:
    """One forward pass on a (B, C, h, w) CPU float32 batch; returns float32 on the CPU.

    On CUDA the pass goes through the model's CUDA-graph cache (:mod:`.graphs`) when it has one: a shape
    seen before replays its captured graph.
    """
    xd = x.to(model.device, non_blocking=True)
    cuda = model.device.type == "cuda"
    graphs = model.extra.get("graphs") if cuda else None
    if graphs is not None and not graphs_supported(model.module):
        graphs = None

    def run(t: torch.Tensor) -> torch.Tensor:
        return ensemble(model.module, t) if self_ensemble else model.module(t)

    # No device switch here although a multi-GPU run's worker threads all start with cuda:0 current: each
    # Triton launch runs on its tensors' GPU (ops.launch) and the graph cache captures on the input's GPU.
    with torch.inference_mode(), _autocast(model), exact_fp32(cuda and model.precision == "fp32"):
        out = graphs(run, xd, key=self_ensemble) if graphs is not None else run(xd)
    out = out.float()
    finite = torch.isfinite(out).all()
    host = _to_host(out)
    if not finite.item():  # on CUDA the one wait, for the check and the copy queued before it
        raise FloatingPointError(
            f"the model produced NaN/inf in {model.precision}; rerun with --precision fp32"
        )
    return host


def _to_host(out: torch.Tensor) -> torch.Tensor:
    """``out`` on the CPU; from a GPU an asynchronous copy into page-locked memory (complete once the
    stream is waited on).

    Why: a copy into ordinary (pageable) memory goes through a staging buffer, and into a freshly
    allocated tensor it also faults in every page: MambaIR light's 1280x720 output took 7.9 ms of GPU time
    to come back that way, half as long as the model (H100, ``tools/jobs/results/perf15-light-wall-gap.txt``).
    """
    if not out.is_cuda or out.numel() * out.element_size() > PINNED_OUTPUT_LIMIT_BYTES:
        return out.cpu()
    host = torch.empty(out.shape, dtype=out.dtype, pin_memory=True)
    host.copy_(out, non_blocking=True)
    return host


def _tiled(
    model: LoadedModel,
    x: torch.Tensor,
    tile: int,
    overlap: int,
    *,
    self_ensemble: bool,
    batch_size: int,
    progress: ProgressFn | None,
) -> torch.Tensor:
    _, c, h, w = x.shape
    s = model.scale
    tiles = plan_tiles(h, w, tile, overlap)
    # The tile windows sum to exactly one over the output, so the weighted sum is the blended image.
    canvas = BlendCanvas(h, w, c, s)
    done = 0
    # Group tiles of equal size so each group can go through the model as one batch.
    groups: dict[tuple[int, int], list[Tile]] = {}
    for t in tiles:
        groups.setdefault((t.y1 - t.y0, t.x1 - t.x0), []).append(t)
    for members in groups.values():
        for start in range(0, len(members), batch_size):
            chunk = members[start : start + batch_size]
            batch = torch.cat([x[:, :, t.y0 : t.y1, t.x0 : t.x1] for t in chunk])
            result = forward(model, batch, self_ensemble=self_ensemble)
            for t, r in zip(chunk, result, strict=True):
                canvas.add(t, r.numpy())
            done += len(chunk)
            if progress is not None:
                progress(done, len(tiles))
    return torch.from_numpy(canvas.image)[None]


def _official(model: LoadedModel, x: torch.Tensor, *, self_ensemble: bool, progress: ProgressFn | None) -> torch.Tensor:
    """The official MambaIR test procedure: reflect-pad, ~200 px pieces with 10% overlap, hard paste."""
    _, c, h, w = x.shape
    plan = official_partition(h, w, model.scale)
    padded = F.pad(x, (0, plan.pad_right, 0, plan.pad_bottom), mode="reflect") if (
        plan.pad_right or plan.pad_bottom) else x
    canvas = torch.zeros(1, c, plan.padded_h * model.scale, plan.padded_w * model.scale)
    for i, piece in enumerate(plan.pieces):
        r = piece.crop
        out = forward(model, padded[:, :, r.y0 : r.y1, r.x0 : r.x1], self_ensemble=self_ensemble)
        canvas[:, :, piece.dst.y0 : piece.dst.y1, piece.dst.x0 : piece.dst.x1] = (
            out[:, :, piece.src.y0 : piece.src.y1, piece.src.x0 : piece.src.x1])
        if progress is not None:
            progress(i + 1, len(plan.pieces))
    return canvas[:, :, : plan.out_h, : plan.out_w]


def restore_tensor(
    model: LoadedModel,
    x: torch.Tensor,
    *,
    tile: int | None = None,
    overlap: int = 32,
    self_ensemble: bool = False,
    batch_size: int | None = None,
    progress: ProgressFn | None = None,
    official_tiling: bool = False,
) -> torch.Tensor:
    """Restore a (1, C, H, W) float32 CPU tensor in [0, 1]; returns (1, C, H*s, W*s) float32 on the CPU.

    Args:
        model: the network and its description.
        x: the image, with as many channels as the model takes.
        tile: tile side in input pixels; 0 = whole image; None = choose from free memory.
        overlap: overlap between neighbouring tiles in input pixels (blended).
        self_ensemble: average the 8 flips/rotations (x8 slower, often +0.1 dB).
        batch_size: tiles per forward pass, at most the model's ``tile_batch_limit`` where it has one
            (compiled MambaIRv2); None = 4 on CUDA for a given ``tile``, else 1 (the automatic
            tile is sized for one tile per pass: four of them would hold four times the memory it
            budgeted).
        progress: called with (tiles done, tiles total).
        official_tiling: use the official test partition (to reproduce published numbers) instead
            of blended tiles; ``tile`` and ``overlap`` are then ignored.

    Raises:
        torch.OutOfMemoryError: when even the smallest tile does not fit.
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected a (1, C, H, W) tensor, got {tuple(x.shape)}")
    x = x.float().cpu()
    _, _, h, w = x.shape
    if official_tiling:
        return _official(model, x, self_ensemble=self_ensemble, progress=progress)
    chosen_tile = tile is None
    if chosen_tile:
        tile = auto_tile(model, h, w)
    if batch_size is None:
        batch_size = 4 if model.device.type == "cuda" and not chosen_tile else 1
    batch_size = min(batch_size, model.extra.get("tile_batch_limit", batch_size))
    while True:
        try:
            if tile <= 0 or (tile >= h and tile >= w):
                out = forward(model, x, self_ensemble=self_ensemble)
                if progress is not None:
                    progress(1, 1)
                return out
            return _tiled(
                model, x, tile, min(overlap, tile // 4), self_ensemble=self_ensemble,
                batch_size=batch_size, progress=progress,
            )
        except torch.OutOfMemoryError:
            if model.device.type == "cuda":
                torch.cuda.empty_cache()
            current = tile if tile > 0 else max(h, w)
            if batch_size > 1:
                batch_size = 1
                tile = current
                continue
            if current // 2 < model.min_tile:
                raise
            tile = current // 2


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """HxWxC float32 numpy -> (1, C, H, W) torch."""
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].float()


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) torch -> HxWxC float32 numpy."""
    return x[0].permute(1, 2, 0).contiguous().numpy()

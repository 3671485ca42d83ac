"""MambaIR v1's four-route scan in one walk, lanes across states (``state_lanes.cu``), and its launcher.

Why a CUDA kernel beside the Triton one: see the source's header. In short, the Triton kernel gives a
thread a whole channel, so it fills the GPU only by splitting time into chunks that it walks twice (two
exponentials per update, and the exponential units bound the scan); this kernel gives a lane one state,
16x the threads, and walks every route once from end to end. That pays only where the routes' channels
alone fill the GPU (:func:`state_lanes_pays`: MambaIR classic, colour/grey denoising, JPEG CAR at
E = 360), not for the light models (E = 120) or MambaIRv2's single route.

It needs no build step: ``torch.cuda._compile_kernel`` runs NVRTC, which PyTorch's CUDA wheels ship, on
first use of each configuration (well under a second). Where NVRTC, that function or a GPU of compute
capability 8.0+ is missing, or the compile fails, :func:`state_lanes_available` says so and the
dispatcher keeps the Triton kernel.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import torch

from ..launch import on_tensor_device

SOURCE = Path(__file__).with_name("state_lanes.cu")
_KINDS = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2}
LOG2E = math.log2(math.e)
MAX_STATES = 16
WARPS = 4  # warps a block (two channels each): 1, 2, 4 or 8
TILE = 64  # steps staged at a time (a multiple of 16)
# Lanes (route channels x 16) from which one walk fills the GPU better than the Triton kernel's two:
# per SM, about four warps, one per scheduler (measured on an H100, see docs/gpu-performance.md).
MIN_LANES_PER_SM = 4 * 32


def state_lanes_pays(routes: int, channels: int, n_state: int, *, sm_count: int) -> bool:
    """Whether the one-walk kernel takes this scan: its shape fits (N <= 16) and the routes' channels give
    every SM at least :data:`MIN_LANES_PER_SM` lanes. Pure, so the rule is tested without a GPU."""
    return 0 < n_state <= MAX_STATES and routes * channels * 16 >= MIN_LANES_PER_SM * sm_count


def shared_memory_bytes(warps: int, tile: int) -> int:
    """The kernel's dynamic shared memory (its ``SMEM_BYTES``): (δ, δu) rows of 2·warps channels and the
    transposed B/C tiles, two tiles each; each warp's reduction buffer; three tiles' pixels."""
    channels = 2 * warps
    return 4 * (2 * channels * (2 * tile + 4) + 2 * 2 * 16 * (tile + 4) + warps * (32 * 20 + 16) + 3 * tile)


@functools.cache
def _kernel(device_index: int, in_kind: int, dt_kind: int, bc_kind: int, n_state: int, warps: int, tile: int,
            has_bias: bool, softplus: bool):
    """The kernel compiled for one configuration on one device (cached for the process)."""
    defines = dict(IN_KIND=in_kind, DT_KIND=dt_kind, BC_KIND=bc_kind, N_STATE=n_state, NW=warps, T=tile,
                   HAS_BIAS=int(has_bias), SOFTPLUS=int(softplus))
    header = "".join(f"#define {k} {v}\n" for k, v in defines.items())
    with torch.cuda.device(device_index):
        kernel = torch.cuda._compile_kernel(header + SOURCE.read_text(), "scan_state_lanes")
        smem = shared_memory_bytes(warps, tile)
        if smem >= 48 * 1024:
            kernel.set_shared_memory_config(smem)
    return kernel


@functools.cache
def state_lanes_available(device_index: int = 0) -> bool:
    """True when the kernel compiles and loads on this device (any failure means 'no')."""
    try:
        if not torch.cuda.is_available() or not hasattr(torch.cuda, "_compile_kernel"):
            return False
        if torch.cuda.get_device_capability(device_index) < (8, 0):  # bf16 conversions need sm_80
            return False
        _kernel(device_index, 1, 1, 1, 16, WARPS, TILE, True, True)  # MambaIR v1's configuration
    except Exception:
        return False
    return True


def _int32(*values: int) -> list[int]:
    """The kernel takes 32-bit strides and sizes (offsets are formed in 64 bits); refuse larger ones."""
    if any(abs(v) >= 2**31 for v in values):
        raise ValueError("strides or sizes beyond 2**31 elements are not supported by the state-lanes scan")
    return list(values)


def selective_scan_cross_tokens_state_lanes(
    tokens: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    width: int,
    warps: int = WARPS,
    tile: int = TILE,
) -> torch.Tensor:
    """MambaIR v1's four routes and their merge (as :func:`.triton.selective_scan_cross_tokens_triton`).

    Args:
        tokens: (batch, H·W, E) pixels in row-major order, any strides.
        delta: (batch, H·W, 4·E), route ``k``'s channels at ``k·E .. k·E + E - 1``.
        B, C: (batch, H·W, 4, N) per pixel and route (e.g. slices of one projection output), N <= 16.
        A: (4·E, N). D, delta_bias: (4·E,) or None. width: the image's width.
        warps: per block (1, 2, 4, 8); tile: steps staged at a time (a multiple of 16).

    Returns:
        (batch, H·W, E) float32, the sum of the four routes' outputs at each pixel.
    """
    batch, length, dim = tokens.shape
    n_state = A.shape[1]
    if not 0 < n_state <= MAX_STATES or warps not in (1, 2, 4, 8) or tile % 16 or tile < 16:
        raise ValueError(f"the state-lanes scan takes N <= {MAX_STATES}, 1, 2, 4 or 8 warps and tiles of a "
                         f"multiple of 16 steps (N {n_state}, warps {warps}, tile {tile})")
    if length % width:
        raise ValueError(f"{length} tokens do not tile an image {width} wide")
    if D is None:
        y = torch.zeros(batch, length, dim, dtype=torch.float32, device=tokens.device)
    else:  # the four routes' skip terms D_k u, summed: the kernel adds the scans into this
        y = tokens.float() * D.to(torch.float32).view(4, dim).sum(0)
    if batch == 0 or length == 0 or dim == 0:
        return y
    if C.dtype != B.dtype:
        C = C.to(B.dtype)
    A2 = (A.to(torch.float32) * LOG2E).contiguous()
    bias32 = None if delta_bias is None else delta_bias.to(torch.float32).contiguous()
    device = tokens.device.index if tokens.device.index is not None else torch.cuda.current_device()
    kernel = _kernel(device, _KINDS[tokens.dtype], _KINDS[delta.dtype], _KINDS[B.dtype], n_state, warps, tile,
                     bias32 is not None, bool(delta_softplus))
    channels_per_block = 2 * warps
    grid = (-(-dim // channels_per_block), 4, batch)
    args = [tokens, delta, A2, B, C, A2 if bias32 is None else bias32, y,
            *_int32(length, length // width, width, dim, *tokens.stride(), *delta.stride(), *B.stride(),
                    *C.stride(), *y.stride())]
    with on_tensor_device(tokens):
        kernel(grid=grid, block=(32 * warps, 1, 1), args=args, shared_mem=shared_memory_bytes(warps, tile))
    return y


__all__ = ["selective_scan_cross_tokens_state_lanes", "state_lanes_available", "state_lanes_pays"]

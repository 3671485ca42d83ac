"""The lanes-across-time CUDA scan (``scan_tokens.cu``), compiled at run time by NVRTC, and its launcher.

Why a CUDA kernel beside the Triton one: Triton gives a program's lanes one channel each, so the only
parallelism over time is chunking, and chunking walks every step twice (two exponentials per update).
``scan_tokens.cu`` puts a warp's lanes across time and scans between them, so each step's decay is
computed once (see the source's header). It needs no build step: ``torch.cuda._compile_kernel`` runs
NVRTC, which PyTorch's CUDA wheels ship, on first use of each configuration (well under a second), and
the 16-bit types are handled without CUDA headers. Where NVRTC or that function is missing, or the
compile fails, :func:`cuda_scan_available` says so and the dispatcher keeps the Triton kernel.

Shapes are those of the Triton token entries (:func:`.triton.selective_scan_tokens_triton`,
:func:`.triton.selective_scan_cross_tokens_triton`); operands are read through their strides. Between
splits of a long sequence (only where the channels alone leave the GPU idle), the carry of chunk states is
the Triton kernel's (``_carry_kernel``), which uses the same state layout.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import torch

from ..launch import on_tensor_device

SOURCE = Path(__file__).with_name("scan_tokens.cu")
_KINDS = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2}
LOG2E = math.log2(math.e)
MIN_BLOCKS_OVERRIDE: int | None = None  # benchmarks only: blocks per SM the register budget is sized for


def min_blocks(channels: int) -> int:
    """Blocks per SM to size registers for: 16 warps, so 128 registers a thread (the next tile's operands
    wait in registers while the current one computes; fewer registers spill)."""
    return MIN_BLOCKS_OVERRIDE or max(1, 16 // channels)


def shared_memory_bytes(channels: int, items: int, n_state: int) -> int:
    """Shared memory one block needs: the u and delta slabs of its channels, B and C, two tiles' pixels,
    and each channel's A and carried state."""
    lane_stride = 4 if items == 4 else items + 4
    slab = 32 * lane_stride
    return 4 * ((2 * channels + 2 * n_state) * slab + 2 * 32 * items + 3 * channels * n_state)


def default_splits(blocks: int, length: int, items: int, *, sm_count: int, per_sm: int = 2) -> int:
    """Time splits so that about ``per_sm`` blocks run per SM; 1 (one pass) where the channels fill it.

    A split costs a second walk over its steps (the chunk-end pass), so splitting only pays where the
    blocks of one pass would leave SMs idle; splits are never shorter than four tiles.
    """
    if blocks >= per_sm * sm_count // 2:
        return 1
    wanted = -(-per_sm * sm_count // max(1, blocks))
    return max(1, min(wanted, length // (4 * 32 * items)))


@functools.cache
def _kernel(device_index: int, in_kind: int, dt_kind: int, bc_kind: int, out_kind: int, n_state: int, n_pad: int,
            items: int, channels: int, blocks_per_sm: int, ud_vec: int, bc_vec: int, has_d: bool, has_bias: bool,
            softplus: bool, pass_: int):
    """The kernel compiled for one configuration on one device (cached for the process)."""
    defines = dict(IN_KIND=in_kind, DT_KIND=dt_kind, BC_KIND=bc_kind, OUT_KIND=out_kind, N_STATE=n_state,
                   N_PAD=n_pad, K_ITEMS=items, CT=channels, MIN_BLOCKS=blocks_per_sm, UD_VEC=ud_vec, BC_VEC=bc_vec,
                   HAS_D=int(has_d),
                   HAS_BIAS=int(has_bias), SOFTPLUS=int(softplus), PASS=pass_)
    header = "".join(f"#define {k} {v}\n" for k, v in defines.items())
    with torch.cuda.device(device_index):
        kernel = torch.cuda._compile_kernel(header + SOURCE.read_text(), "scan_tokens")
        smem = shared_memory_bytes(channels, items, n_state)
        if smem >= 48 * 1024:
            kernel.set_shared_memory_config(smem)
    return kernel


def compile_probe(device_index: int = 0) -> None:
    """Compile the configuration MambaIR v1 uses most (bf16, four routes); raises what NVRTC raises."""
    _kernel(device_index, 1, 1, 1, 3, 16, 16, 8, 8, 2, 8, 8, True, True, True, 0)


def vector_width(tensors: list[torch.Tensor], lengths: list[int], contiguous_dim: int) -> int:
    """Widest vector load (elements, at most 16 bytes) along ``contiguous_dim`` of every tensor: it must
    divide each of ``lengths`` and every other stride, the axis must have stride 1, and the data pointers
    must be aligned to it."""
    for width in (8, 4, 2):
        if any(width * t.element_size() > 16 for t in tensors) or any(n % width for n in lengths):
            continue
        if all(t.stride(contiguous_dim) == 1 and t.data_ptr() % (width * t.element_size()) == 0
               and all(st % width == 0 for d, st in enumerate(t.stride()) if d != contiguous_dim % t.dim())
               for t in tensors):
            return width
    return 1


@functools.cache
def cuda_scan_available(device_index: int = 0) -> bool:
    """True when the CUDA scan compiles and loads on this device (any failure means 'no')."""
    try:
        if not torch.cuda.is_available() or not hasattr(torch.cuda, "_compile_kernel"):
            return False
        if torch.cuda.get_device_capability(device_index) < (8, 0):  # bf16 conversions need sm_80
            return False
        compile_probe(device_index)
    except Exception:
        return False
    return True


def _device_index(t: torch.Tensor) -> int:
    return t.device.index if t.device.index is not None else torch.cuda.current_device()


def _run(u, delta, A, B, C, D, delta_bias, delta_softplus, y, *, per_group: int, height: int, width: int,
         n_splits: int | None, items: int, channels: int) -> None:
    """Launch into ``y``: u (batch, L, E) and delta (batch, L, G·E) tokens, B/C (batch, L, G, N)."""
    batch, length, dim = delta.shape
    groups = dim // per_group
    n_state = A.shape[1]
    if n_state > 32 or items % 4 or not 1 <= channels <= 32:
        raise ValueError(f"the CUDA scan takes N <= 32, items a multiple of 4 and 1-32 channels a block "
                         f"(N {n_state}, items {items}, channels {channels})")
    if batch == 0 or length == 0:
        return
    n_pad = 1 << (n_state - 1).bit_length()
    device = _device_index(u)
    blocks = -(-per_group // channels) * groups * batch
    if n_splits is None:
        sm_count = torch.cuda.get_device_properties(device).multi_processor_count
        n_splits = default_splits(blocks, length, items, sm_count=sm_count)
    split_len = -(-length // max(1, min(n_splits, length)))
    n_splits = -(-length // split_len)
    A32 = A.to(torch.float32)
    A2 = (A32 * LOG2E).contiguous()
    D32 = None if D is None else D.to(torch.float32).contiguous()
    bias32 = None if delta_bias is None else delta_bias.to(torch.float32).contiguous()
    out_kind = 3 if groups > 1 else _KINDS[y.dtype]
    if C.dtype != B.dtype:
        C = C.to(B.dtype)
    ud_vec = vector_width([u, delta], [channels, per_group], -1)
    bc_vec = vector_width([B, C], [n_state], -1)
    config = (device, _KINDS[u.dtype], _KINDS[delta.dtype], _KINDS[B.dtype], out_kind, n_state, n_pad, items,
              channels, min_blocks(channels), ud_vec, bc_vec, D32 is not None, bias32 is not None,
              bool(delta_softplus))
    grid = (-(-per_group // channels), groups, batch * n_splits)
    block = (32 * channels, 1, 1)
    smem = shared_memory_bytes(channels, items, n_state)
    dummy = A2

    def launch(pass_: int, h0: torch.Tensor | None, hend: torch.Tensor | None, dtsum: torch.Tensor | None) -> None:
        kernel = _kernel(*config, pass_)
        kernel(grid=grid, block=block, shared_mem=smem, args=[
            u, delta, A2, B, C, dummy if D32 is None else D32, dummy if bias32 is None else bias32, y,
            dummy if h0 is None else h0, dummy if hend is None else hend, dummy if dtsum is None else dtsum,
            length, max(height, 1), max(width, 1), per_group, dim, split_len, n_splits,
            u.stride(0), u.stride(1), u.stride(2), delta.stride(0), delta.stride(1), delta.stride(2),
            B.stride(0), B.stride(1), B.stride(2), B.stride(3), C.stride(0), C.stride(1), C.stride(2), C.stride(3),
            y.stride(0), y.stride(1), y.stride(2),
        ])

    with on_tensor_device(u):
        if n_splits == 1:
            launch(0, None, None, None)
            return
        from .triton import _carry_kernel, default_block_d

        states = torch.empty(2, batch, n_splits, n_pad, dim, dtype=torch.float32, device=u.device)
        dtsum = torch.empty(batch, n_splits, dim, dtype=torch.float32, device=u.device)
        launch(1, None, states[1], dtsum)
        A_t = A32.t().contiguous()
        block_d = default_block_d()
        _carry_kernel[(batch, -(-dim // block_d))](A_t, states[1], dtsum, states[0], dim, n_splits, *A_t.stride()[::-1],
                                                  N=n_state, N_PAD=n_pad, BLOCK_D=block_d, num_warps=1)
        launch(2, states[0], None, None)


def _check_strides(*tensors: torch.Tensor) -> None:
    """The kernel takes 32-bit strides and offsets them in 64 bits; refuse strides that do not fit."""
    for t in tensors:
        if any(abs(s) >= 2**31 for s in t.stride()):
            raise ValueError("tensor strides beyond 2**31 elements are not supported by the CUDA scan")


def selective_scan_tokens_cuda(u, delta, A, B, C, D=None, delta_bias=None, delta_softplus=False, *,
                               n_splits: int | None = None, items: int = 8, channels: int = 8) -> torch.Tensor:
    """One-route scan of channel-last operands (as :func:`.triton.selective_scan_tokens_triton`).

    Args:
        u, delta: (batch, L, dim). B, C: (batch, L, N). A: (dim, N). D, delta_bias: (dim,) or None.
        n_splits: time splits (default :func:`default_splits`); items: steps per lane (multiple of 4);
            channels: channels (warps) per block.

    Returns:
        (batch, L, dim) contiguous, in ``u``'s dtype, accumulated in float32.
    """
    batch, length, dim = u.shape
    y = torch.empty(batch, length, dim, dtype=u.dtype, device=u.device)
    _check_strides(u, delta, B, C, y)
    _run(u, delta, A, B[:, :, None], C[:, :, None], D, delta_bias, delta_softplus, y, per_group=dim, height=1,
         width=1, n_splits=n_splits, items=items, channels=channels)
    return y


def selective_scan_cross_tokens_cuda(tokens, delta, A, B, C, D=None, delta_bias=None, delta_softplus=False, *,
                                     width: int, n_splits: int | None = None, items: int = 8,
                                     channels: int = 8) -> torch.Tensor:
    """MambaIR v1's four routes and their merge (as :func:`.triton.selective_scan_cross_tokens_triton`).

    Args:
        tokens: (batch, H·W, E). delta: (batch, H·W, 4·E). B, C: (batch, H·W, 4, N). A: (4·E, N).
        D, delta_bias: (4·E,) or None. width: the image's width.

    Returns:
        (batch, H·W, E) float32, the sum of the four routes.
    """
    batch, length, channels_e = tokens.shape
    y = torch.zeros(batch, length, channels_e, dtype=torch.float32, device=tokens.device)
    _check_strides(tokens, delta, B, C, y)
    _run(tokens, delta, A, B, C, D, delta_bias, delta_softplus, y, per_group=channels_e, height=length // width,
         width=width, n_splits=n_splits, items=items, channels=channels)
    return y


__all__ = ["cuda_scan_available", "default_splits", "selective_scan_cross_tokens_cuda", "selective_scan_tokens_cuda",
           "shared_memory_bytes"]

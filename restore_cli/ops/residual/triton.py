"""``x · scale + branch · gate`` as one Triton kernel (CUDA inference); the reference is in ``__init__``.

Each program updates ``BLOCK_R`` rows of the float32 stream: it reads the stream, the branch's first C
columns (any dtype and row stride) and the scale, and the gate of the row's image where there is one, and
computes in float32 with one rounding, as ``addcmul`` does.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device


@triton.jit
def _scaled_residual_kernel(x_ptr, s_ptr, b_ptr, g_ptr, o_ptr, rows, rows_per_image, channels, s_br, s_gb,
                            HAS_SCALE: tl.constexpr, HAS_GATE: tl.constexpr, BLOCK_R: tl.constexpr,
                            BLOCK_C: tl.constexpr):
    row = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    col = tl.arange(0, BLOCK_C)
    mask_c = col < channels
    mask = (row < rows)[:, None] & mask_c[None, :]
    x = tl.load(x_ptr + row[:, None] * channels + col[None, :], mask=mask, other=0.0)
    branch = tl.load(b_ptr + row[:, None] * s_br + col[None, :], mask=mask, other=0.0).to(tl.float32)
    if HAS_GATE:
        image = row // rows_per_image
        branch *= tl.load(g_ptr + image[:, None] * s_gb + col[None, :], mask=mask, other=0.0)
    if HAS_SCALE:
        x = x * tl.load(s_ptr + col, mask=mask_c, other=0.0)[None, :] + branch
    else:
        x = x + branch
    tl.store(o_ptr + row[:, None] * channels + col[None, :], x, mask=mask)


def scaled_residual_triton(x: torch.Tensor, scale: torch.Tensor | None, branch: torch.Tensor,
                           gate: torch.Tensor | None = None, *, out: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`..residual.scaled_residual_reference` in one pass. ``x`` and ``out`` contiguous float32,
    ``scale`` (or None: ones); ``branch`` may be a view of wider rows (its last axis contiguous)."""
    if not x.is_contiguous() or x.dtype != torch.float32:
        raise ValueError("the residual stream must be a contiguous float32 tensor")
    channels = x.shape[-1]
    if branch.shape[:-1] != x.shape[:-1] or branch.shape[-1] < channels:
        raise ValueError(f"a branch {tuple(branch.shape)} does not cover the stream {tuple(x.shape)}")
    b2 = branch.reshape(-1, branch.shape[-1])
    if b2.stride(-1) != 1:
        b2 = b2.contiguous()
    if out is None:
        out = torch.empty_like(x)
    elif out.shape != x.shape or not out.is_contiguous() or out.dtype != torch.float32:
        raise ValueError("out must be a contiguous float32 tensor shaped like the stream")
    rows = x.numel() // channels
    rows_per_image = rows // x.shape[0]
    scale32 = x if scale is None else scale.to(torch.float32).contiguous()
    g = scale32 if gate is None else gate.to(torch.float32)
    if gate is not None and (gate.dim() != 2 or gate.shape[0] != x.shape[0] or gate.shape[1] < channels):
        raise ValueError(f"a gate {tuple(gate.shape)} does not cover (images, channels) of {tuple(x.shape)}")
    if gate is not None and g.stride(-1) != 1:
        g = g.contiguous()
    block_c = triton.next_power_of_2(channels)
    block_r = max(1, min(64, 4096 // block_c))
    with on_tensor_device(x):
        _scaled_residual_kernel[(triton.cdiv(rows, block_r),)](
            x, scale32, b2, g, out, rows, rows_per_image, channels, b2.stride(0),
            g.stride(0) if gate is not None else 0, HAS_SCALE=scale is not None, HAS_GATE=gate is not None,
            BLOCK_R=block_r, BLOCK_C=block_c, num_warps=4,
        )
    return out


__all__ = ["scaled_residual_triton"]

"""Per-image channel means of (B, L, C) rows as a Triton kernel (CUDA inference); the reference is in
``__init__``.

Program (block, image) sums ``BLOCK_L`` rows of all channels in float32, walking them ``STEP_L`` at a
time, and writes one row of partial sums; ``partials.sum(1) / L`` then adds the blocks up in a fixed order.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device


@triton.jit
def _channel_sum_kernel(x_ptr, partial_ptr, length, channels, s_xb, s_xl, blocks,
                        BLOCK_L: tl.constexpr, STEP_L: tl.constexpr, BLOCK_C: tl.constexpr):
    block = tl.program_id(0)
    image = tl.program_id(1).to(tl.int64)
    col = tl.arange(0, BLOCK_C)
    mask_c = col < channels
    acc = tl.zeros((STEP_L, BLOCK_C), dtype=tl.float32)
    first = block * BLOCK_L
    for start in range(0, BLOCK_L, STEP_L):
        row = first + start + tl.arange(0, STEP_L)
        mask = (row < length)[:, None] & mask_c[None, :]
        pointers = x_ptr + image * s_xb + row.to(tl.int64)[:, None] * s_xl + col[None, :]
        acc += tl.load(pointers, mask=mask, other=0.0).to(tl.float32)
    tl.store(partial_ptr + (image * blocks + block) * BLOCK_C + col, tl.sum(acc, axis=0))


def channel_mean_triton(x: torch.Tensor) -> torch.Tensor:
    """(B, L, C) rows (channels contiguous, any row and image stride) -> (B, C) float32 means over L."""
    if x.dim() != 3 or x.stride(-1) != 1:
        raise ValueError(f"channel_mean_triton needs (B, L, C) rows with contiguous channels, not {tuple(x.shape)}")
    b, length, channels = x.shape
    block_c = triton.next_power_of_2(channels)
    step_l = max(1, min(32, 4096 // block_c))
    block_l = step_l * 16
    blocks = triton.cdiv(length, block_l)
    partials = torch.empty(b, blocks, block_c, dtype=torch.float32, device=x.device)
    with on_tensor_device(x):
        _channel_sum_kernel[(blocks, b)](x, partials, length, channels, x.stride(0), x.stride(1), blocks,
                                         BLOCK_L=block_l, STEP_L=step_l, BLOCK_C=block_c, num_warps=4)
    return partials[..., :channels].sum(1) / length


__all__ = ["channel_mean_triton"]

"""Rows picked by index (and added to another tensor's rows) as one Triton kernel; the reference is in
``__init__``.

Each program copies ``BLOCK_R`` whole rows: it reads their indices, then each picked row, contiguous in
memory (a row of the image's tokens, or of a table shared by the images), and writes it, after adding the
addend's row in float32 where there is one.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device


@triton.jit
def _gather_rows_kernel(src_ptr, idx_ptr, add_ptr, out_ptr, rows, rows_per_image, channels, s_img, s_row,
                        s_add, PER_IMAGE: tl.constexpr, HAS_ADD: tl.constexpr, BLOCK_R: tl.constexpr,
                        BLOCK_C: tl.constexpr):
    row = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    col = tl.arange(0, BLOCK_C)
    inside = row < rows
    mask = inside[:, None] & (col < channels)[None, :]
    picked = tl.load(idx_ptr + row, mask=inside, other=0).to(tl.int64) * s_row
    if PER_IMAGE:
        picked += row // rows_per_image * s_img
    values = tl.load(src_ptr + picked[:, None] + col[None, :], mask=mask, other=0.0)
    if HAS_ADD:
        values = values.to(tl.float32) + tl.load(add_ptr + row[:, None] * s_add + col[None, :], mask=mask,
                                                 other=0.0).to(tl.float32)
    tl.store(out_ptr + row[:, None] * channels + col[None, :], values.to(out_ptr.dtype.element_ty), mask=mask)


def gather_rows_triton(source: torch.Tensor, rows: torch.Tensor, *,
                       addend: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`..gather_rows.gather_rows_reference` in one pass (shapes checked by the caller)."""
    channels = source.shape[-1]
    if source.stride(-1) != 1 or (source.dim() == 3 and source.stride(0) != source.shape[1] * source.stride(1)):
        source = source.contiguous()
    rows = rows.contiguous()
    count = rows.numel()
    a2 = source
    if addend is not None:
        a2 = addend.reshape(count, channels)  # a view where the addend is a slice of wider rows
        if a2.stride(-1) != 1:
            a2 = a2.contiguous()
    out = torch.empty((*rows.shape, channels), dtype=source.dtype if addend is None else torch.float32,
                      device=source.device)
    per_image = source.dim() == 3
    block_c = triton.next_power_of_2(channels)
    block_r = max(1, min(64, 4096 // block_c))
    with on_tensor_device(source):
        _gather_rows_kernel[(triton.cdiv(count, block_r),)](
            source, rows, a2, out, count, rows.shape[1], channels, source.stride(0) if per_image else 0,
            source.stride(-2), a2.stride(0) if addend is not None else 0, PER_IMAGE=per_image,
            HAS_ADD=addend is not None, BLOCK_R=block_r, BLOCK_C=block_c, num_warps=4,
        )
    return out


__all__ = ["gather_rows_triton"]

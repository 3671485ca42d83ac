"""Stable counting sort of class indices (T <= 256) in three launches; see the package docstring.

The tokens of a row are cut into blocks of ``BLOCK``. (1) Each block counts its tokens per class (a
one-hot sum). (2) One program per row and group of 16 classes walks the blocks' counts in chunks and
writes, for every block and class, how many tokens of that class come in earlier blocks, and each class's
total. (3) Each block ranks its tokens within their class (an inclusive cumulative sum of the one-hot
rows, along the tokens), adds the class's start (an exclusive sum of the totals) and the earlier blocks'
count, and writes the position to ``inverse`` and the token to ``order``. Every output element is written
exactly once, so nothing is zeroed first.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device
from . import class_axis

#: Values in a program's (tokens or blocks) x classes tile: 8192 over 8 warps keeps every kernel within
#: the registers without spilling (sm_90: T = 64 and 128, the MambaIRv2 class counts, 111-242 registers).
TILE = 8192


@triton.jit
def _block_counts_kernel(cls_ptr, counts_ptr, n, s_cb, num_blocks, BLOCK: tl.constexpr, T: tl.constexpr):
    row = tl.program_id(0)
    block = tl.program_id(1)
    offs = block * BLOCK + tl.arange(0, BLOCK)
    classes = tl.load(cls_ptr + row.to(tl.int64) * s_cb + offs, mask=offs < n, other=T)  # T: no class
    one_hot = (classes[:, None] == tl.arange(0, T)[None, :]).to(tl.int32)
    tl.store(counts_ptr + (row * num_blocks + block) * T + tl.arange(0, T), tl.sum(one_hot, axis=0))


@triton.jit
def _block_offsets_kernel(counts_ptr, before_ptr, totals_ptr, num_blocks, CHUNK: tl.constexpr, T: tl.constexpr,
                          GROUP: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.program_id(1) * GROUP + tl.arange(0, GROUP)  # classes are independent here: a group each
    carry = tl.zeros((GROUP,), dtype=tl.int32)
    for start in range(0, num_blocks, CHUNK):
        blocks = start + tl.arange(0, CHUNK)
        where = (row * num_blocks + blocks[:, None]) * T + cols[None, :]
        inside = blocks[:, None] < num_blocks
        counts = tl.load(counts_ptr + where, mask=inside, other=0)
        tl.store(before_ptr + where, carry[None, :] + tl.cumsum(counts, axis=0) - counts, mask=inside)
        carry += tl.sum(counts, axis=0)
    tl.store(totals_ptr + row * T + cols, carry)


@triton.jit
def _place_kernel(cls_ptr, before_ptr, totals_ptr, order_ptr, inverse_ptr, n, s_cb, num_blocks,
                  BLOCK: tl.constexpr, T: tl.constexpr):
    row = tl.program_id(0)
    block = tl.program_id(1)
    cols = tl.arange(0, T)
    offs = block * BLOCK + tl.arange(0, BLOCK)
    inside = offs < n
    classes = tl.load(cls_ptr + row.to(tl.int64) * s_cb + offs, mask=inside, other=T)
    one_hot = classes[:, None] == cols[None, :]
    rank = tl.cumsum(one_hot.to(tl.int32), axis=0) - 1  # among the block's tokens of the same class
    totals = tl.load(totals_ptr + row * T + cols)
    start = tl.cumsum(totals, axis=0) - totals + tl.load(before_ptr + (row * num_blocks + block) * T + cols)
    position = tl.sum(tl.where(one_hot, rank + start[None, :], 0), axis=1)
    base = row.to(tl.int64) * n
    tl.store(inverse_ptr + base + offs, position.to(tl.int64), mask=inside)
    tl.store(order_ptr + base + position, offs.to(tl.int64), mask=inside)


@triton.jit
def _argmax_rows_kernel(x_ptr, out_ptr, rows, classes, s_xr, BLOCK_R: tl.constexpr, T: tl.constexpr):
    row = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    col = tl.arange(0, T)
    mask = (row < rows)[:, None] & (col < classes)[None, :]
    x = tl.load(x_ptr + row[:, None] * s_xr + col[None, :], mask=mask, other=float("-inf")).to(tl.float32)
    tl.store(out_ptr + row, tl.argmax(x, axis=1, tie_break_left=True).to(tl.int64), mask=row < rows)


def route_classes_triton(logits: torch.Tensor) -> torch.Tensor:
    """(..., T) logits, T <= 1024 -> (...) int64 argmax, the first on ties, in one pass."""
    classes = logits.shape[-1]
    x2 = logits.reshape(-1, classes)
    if x2.stride(-1) != 1:
        x2 = x2.contiguous()
    out = torch.empty(logits.shape[:-1], dtype=torch.int64, device=logits.device)
    width = triton.next_power_of_2(classes)
    block_r = max(1, min(128, 4096 // width))
    with on_tensor_device(logits):
        _argmax_rows_kernel[(triton.cdiv(x2.shape[0], block_r),)](x2, out, x2.shape[0], classes, x2.stride(0),
                                                                   BLOCK_R=block_r, T=width, num_warps=4)
    return out


def stable_class_order_triton(classes: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, n) class indices in [0, num_classes), num_classes <= 256 -> (order, inverse), (B, n) int64."""
    rows, n = classes.shape
    classes = classes if classes.stride(-1) == 1 else classes.contiguous()
    width = class_axis(num_classes)
    block = TILE // width  # tokens per block
    num_blocks = triton.cdiv(n, block)
    device = classes.device
    counts = torch.empty(rows, num_blocks, width, dtype=torch.int32, device=device)
    before = torch.empty_like(counts)
    totals = torch.empty(rows, width, dtype=torch.int32, device=device)
    order = torch.empty(rows, n, dtype=torch.int64, device=device)
    inverse = torch.empty_like(order)
    warps = 8 if width >= 64 else 4
    with on_tensor_device(classes):
        _block_counts_kernel[(rows, num_blocks)](classes, counts, n, classes.stride(0), num_blocks, BLOCK=block,
                                                 T=width, num_warps=warps)
        group = min(width, 16)
        _block_offsets_kernel[(rows, width // group)](counts, before, totals, num_blocks, CHUNK=TILE // group,
                                                      T=width, GROUP=group, num_warps=warps)
        _place_kernel[(rows, num_blocks)](classes, before, totals, order, inverse, n, classes.stride(0), num_blocks,
                                          BLOCK=block, T=width, num_warps=warps)
    return order, inverse


__all__ = ["route_classes_triton", "stable_class_order_triton"]

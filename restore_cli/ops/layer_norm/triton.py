"""LayerNorm over the last axis as a Triton kernel (CUDA inference); the reference is in ``__init__``.

Each program normalises ``BLOCK_R`` rows of up to ``BLOCK_C`` channels at once, reading the input in any
float dtype and writing float32; mean and variance are the two-pass float32 ones (as PyTorch computes).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device
from . import check_padded_width


@triton.jit
def normalised_rows(x, mask, col, mask_c, channels, eps, w_ptr, b_ptr, HAS_BIAS: tl.constexpr):
    """The LayerNorm of a float32 tile of whole rows (``mask``: the real rows and channels, zero outside),
    with two-pass statistics and the weight and bias read as 0 past the channels: this kernel's and the
    residual kernel's (:mod:`..residual.triton`), which normalises the rows it has just updated."""
    mean = tl.sum(x, axis=1) / channels
    centred = tl.where(mask, x - mean[:, None], 0.0)
    rstd = 1.0 / tl.sqrt(tl.sum(centred * centred, axis=1) / channels + eps)
    y = centred * rstd[:, None] * tl.load(w_ptr + col, mask=mask_c, other=0.0)[None, :]
    if HAS_BIAS:
        y += tl.load(b_ptr + col, mask=mask_c, other=0.0)[None, :]
    return y


@triton.jit
def _layer_norm_kernel(x_ptr, w_ptr, b_ptr, y_ptr, g_ptr, rows, channels, out_width, s_xr, s_gr, eps,
                       HAS_BIAS: tl.constexpr, HAS_GATE: tl.constexpr, ONES_COLUMN: tl.constexpr,
                       BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    row = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    col = tl.arange(0, BLOCK_C)
    mask_c = col < channels
    mask = (row < rows)[:, None] & mask_c[None, :]
    x = tl.load(x_ptr + row[:, None] * s_xr + col[None, :], mask=mask, other=0.0).to(tl.float32)
    y = normalised_rows(x, mask, col, mask_c, channels, eps, w_ptr, b_ptr, HAS_BIAS)
    if HAS_GATE:  # y · silu(gate), in float32
        gate = tl.load(g_ptr + row[:, None] * s_gr + col[None, :], mask=mask, other=0.0).to(tl.float32)
        y *= gate * tl.sigmoid(gate)
    if ONES_COLUMN >= 0:  # a padding column of ones (a following convolution's bias as a weight)
        y = tl.where((col == ONES_COLUMN)[None, :], 1.0, y)
    # Columns channels..out_width are the zero padding of aligned rows (weight and bias read as 0 there).
    out_mask = (row < rows)[:, None] & (col < out_width)[None, :]
    tl.store(y_ptr + row[:, None] * out_width + col[None, :], y.to(y_ptr.dtype.element_ty), mask=out_mask)


def layer_norm_triton(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, eps: float = 1e-5, *,
                      out_width: int | None = None, out_dtype: torch.dtype = torch.float32,
                      gate: torch.Tensor | None = None, ones_column: int | None = None) -> torch.Tensor:
    """LayerNorm of ``x`` (..., C) over C with float32 ``weight``/``bias``; (..., ``out_width``) output in
    ``out_dtype`` (default: C channels, float32), its columns past C zero: the aligned rows a following GEMM
    reads, written by this kernel instead of a LayerNorm, a cast and a pad.

    ``gate`` (same shape as ``x``, any float dtype and row stride): the output is ``LayerNorm(x) ·
    silu(gate)``, computed in float32 and rounded once (MambaIR's ``out_norm(y) * silu(z)`` before
    ``out_proj``, which took three more passes and three temporaries the size of ``y``).

    ``ones_column``: a padding column (C <= it < ``out_width``) written as ones instead of zeros (see
    :func:`..layer_norm.layer_norm_padded_reference`)."""
    channels = x.shape[-1]
    out_width = channels if out_width is None else out_width
    check_padded_width(channels, out_width, ones_column)
    x2 = x.reshape(-1, channels)
    if x2.stride(-1) != 1:
        x2 = x2.contiguous()
    rows = x2.shape[0]
    g2 = x2
    if gate is not None:
        if gate.shape != x.shape:
            raise ValueError(f"the gate's shape {tuple(gate.shape)} is not the input's {tuple(x.shape)}")
        g2 = gate.reshape(-1, channels)
        if g2.stride(-1) != 1:
            g2 = g2.contiguous()
    y = torch.empty((*x.shape[:-1], out_width), dtype=out_dtype, device=x.device)
    block_c = triton.next_power_of_2(out_width)
    block_r = max(1, min(64, 4096 // block_c))
    with on_tensor_device(x):
        _layer_norm_kernel[(triton.cdiv(rows, block_r),)](
            x2, weight, weight if bias is None else bias, y, g2, rows, channels, out_width, x2.stride(0),
            g2.stride(0), eps, HAS_BIAS=bias is not None, HAS_GATE=gate is not None,
            ONES_COLUMN=-1 if ones_column is None else ones_column, BLOCK_R=block_r, BLOCK_C=block_c, num_warps=4,
        )
    return y


__all__ = ["layer_norm_triton", "normalised_rows"]

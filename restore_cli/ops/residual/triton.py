"""``x · scale + (branch + bias) · gate + extra``, and the LayerNorm of the result, as one Triton kernel
(CUDA inference); the references are in ``__init__``.

Each program updates ``BLOCK_R`` whole rows of the float32 stream: it reads the stream, the branch's first
C columns (any dtype and row stride; its rows in a permuted order where ``branch_rows`` says so), the
branch's bias and the scale, the gate of the row's image and a second float32 stream where there are
ones, and computes in float32, as ``addcmul`` does. With ``NORM`` it also normalises the first C' <= C
channels of the rows it has just computed (the LayerNorm kernel's
:func:`..layer_norm.triton.normalised_rows`) and writes them as the padded rows the next layer reads, so the
stream is not read back for its LayerNorm.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device
from ..layer_norm import check_padded_width
from ..layer_norm.triton import normalised_rows


@triton.jit
def _scaled_residual_kernel(x_ptr, s_ptr, b_ptr, bb_ptr, g_ptr, e_ptr, r_ptr, o_ptr, nw_ptr, nb_ptr, n_ptr, rows,
                            rows_per_image, channels, s_br, s_gb, norm_channels, norm_width, eps,
                            HAS_SCALE: tl.constexpr, HAS_GATE: tl.constexpr, HAS_BRANCH_BIAS: tl.constexpr,
                            HAS_EXTRA: tl.constexpr, HAS_BRANCH_ROWS: tl.constexpr,
                            NORM: tl.constexpr, HAS_NORM_BIAS: tl.constexpr, ONES_COLUMN: tl.constexpr,
                            BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    row = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    col = tl.arange(0, BLOCK_C)
    mask_c = col < channels
    mask = (row < rows)[:, None] & mask_c[None, :]
    x = tl.load(x_ptr + row[:, None] * channels + col[None, :], mask=mask, other=0.0)
    branch_row = row
    if HAS_BRANCH_ROWS:  # this row's branch is row branch_rows[row] of the same image
        first = row // rows_per_image * rows_per_image
        branch_row = first + tl.load(r_ptr + row, mask=row < rows, other=0).to(tl.int64)
    branch = tl.load(b_ptr + branch_row[:, None] * s_br + col[None, :], mask=mask, other=0.0).to(tl.float32)
    if HAS_BRANCH_BIAS:
        branch += tl.load(bb_ptr + col, mask=mask_c, other=0.0).to(tl.float32)[None, :]
    if HAS_GATE:
        image = row // rows_per_image
        branch *= tl.load(g_ptr + image[:, None] * s_gb + col[None, :], mask=mask, other=0.0)
    if HAS_SCALE:
        x = x * tl.load(s_ptr + col, mask=mask_c, other=0.0)[None, :] + branch
    else:
        x = x + branch
    if HAS_EXTRA:
        x += tl.load(e_ptr + row[:, None] * channels + col[None, :], mask=mask, other=0.0)
    tl.store(o_ptr + row[:, None] * channels + col[None, :], x, mask=mask)
    if NORM:  # statistics over the first norm_channels (the rest is an aligned stream's zero padding)
        mask_n = col < norm_channels
        mask = (row < rows)[:, None] & mask_n[None, :]
        x = tl.where(mask, x, 0.0)
        y = normalised_rows(x, mask, col, mask_n, norm_channels, eps, nw_ptr, nb_ptr, HAS_NORM_BIAS)
        if ONES_COLUMN >= 0:
            y = tl.where((col == ONES_COLUMN)[None, :], 1.0, y)
        out_mask = (row < rows)[:, None] & (col < norm_width)[None, :]
        tl.store(n_ptr + row[:, None] * norm_width + col[None, :], y.to(n_ptr.dtype.element_ty), mask=out_mask)


def _launch(x: torch.Tensor, scale: torch.Tensor | None, branch: torch.Tensor, gate: torch.Tensor | None,
            branch_bias: torch.Tensor | None, branch_rows: torch.Tensor | None, extra: torch.Tensor | None,
            out: torch.Tensor | None,
            norm: tuple[torch.Tensor, torch.Tensor | None, float, int, torch.dtype, int | None] | None,
            ) -> tuple[torch.Tensor, torch.Tensor | None]:
    if not x.is_contiguous() or x.dtype != torch.float32:
        raise ValueError("the residual stream must be a contiguous float32 tensor")
    channels = x.shape[-1]
    if branch.shape[:-1] != x.shape[:-1] or branch.shape[-1] < channels:
        raise ValueError(f"a branch {tuple(branch.shape)} does not cover the stream {tuple(x.shape)}")
    if branch_bias is not None and (branch_bias.dim() != 1 or branch_bias.shape[0] < channels):
        raise ValueError(f"a branch bias {tuple(branch_bias.shape)} does not cover {channels} channels")
    if extra is not None and (extra.shape != x.shape or not extra.is_contiguous() or extra.dtype != torch.float32):
        raise ValueError("extra must be a contiguous float32 tensor shaped like the stream")
    if branch_rows is not None and branch_rows.shape != x.shape[:-1]:
        raise ValueError(f"branch rows {tuple(branch_rows.shape)} do not match the stream's {tuple(x.shape[:-1])}")
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
    bb = scale32 if branch_bias is None else branch_bias.contiguous()
    r = x if branch_rows is None else branch_rows.contiguous()
    normed, width, eps, norm_weight, norm_bias, ones_column = None, channels, 0.0, scale32, None, None
    norm_channels = channels
    if norm is not None:
        norm_weight, norm_bias, eps, width, dtype, ones_column = norm
        norm_channels = norm_weight.shape[0]
        if norm_channels > channels:
            raise ValueError(f"a LayerNorm of {norm_channels} channels on a stream of {channels}")
        check_padded_width(norm_channels, width, ones_column)
        normed = torch.empty((*x.shape[:-1], width), dtype=dtype, device=x.device)
    block_c = triton.next_power_of_2(max(width, channels))
    block_r = max(1, min(64, 4096 // block_c))
    with on_tensor_device(x):
        _scaled_residual_kernel[(triton.cdiv(rows, block_r),)](
            x, scale32, b2, bb, g, x if extra is None else extra, r, out, norm_weight,
            norm_weight if norm_bias is None else norm_bias, out if normed is None else normed, rows,
            rows_per_image, channels, b2.stride(0), g.stride(0) if gate is not None else 0, norm_channels, width,
            eps, HAS_SCALE=scale is not None, HAS_GATE=gate is not None, HAS_BRANCH_BIAS=branch_bias is not None,
            HAS_EXTRA=extra is not None, HAS_BRANCH_ROWS=branch_rows is not None, NORM=norm is not None,
            HAS_NORM_BIAS=norm_bias is not None, ONES_COLUMN=-1 if ones_column is None else ones_column,
            BLOCK_R=block_r, BLOCK_C=block_c, num_warps=4,
        )
    return out, normed


def scaled_residual_triton(x: torch.Tensor, scale: torch.Tensor | None, branch: torch.Tensor,
                           gate: torch.Tensor | None = None, *, branch_bias: torch.Tensor | None = None,
                           branch_rows: torch.Tensor | None = None, extra: torch.Tensor | None = None,
                           out: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`..residual.scaled_residual_reference` in one pass. ``x``, ``extra`` and ``out`` contiguous
    float32, ``scale`` (or None: ones); ``branch`` may be a view of wider rows (its last axis contiguous)."""
    return _launch(x, scale, branch, gate, branch_bias, branch_rows, extra, out, None)[0]


def scaled_residual_and_norm_triton(
        x: torch.Tensor, scale: torch.Tensor | None, branch: torch.Tensor, gate: torch.Tensor | None = None, *,
        norm_weight: torch.Tensor, norm_bias: torch.Tensor | None, eps: float, width: int, dtype: torch.dtype,
        ones_column: int | None = None, branch_bias: torch.Tensor | None = None,
        branch_rows: torch.Tensor | None = None, extra: torch.Tensor | None = None,
        out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`..residual.scaled_residual_and_norm_reference` in one pass (float32 norm parameters)."""
    out, normed = _launch(x, scale, branch, gate, branch_bias, branch_rows, extra, out,
                          (norm_weight, norm_bias, eps, width, dtype, ones_column))
    return out, normed


__all__ = ["scaled_residual_and_norm_triton", "scaled_residual_triton"]

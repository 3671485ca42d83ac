"""Depthwise k x k convolution of channel-last tokens as one Triton kernel (CUDA), with its launcher.

One program per (image row, block of ``BLOCK_W`` pixels of that row, block of ``BLOCK_C`` channels). Its
output tile stays in float32 registers while it walks the k² taps: each tap is one load of a shifted
``BLOCK_W x BLOCK_C`` tile of the input (the same pointer tile plus one scalar offset, channels
contiguous, so the loads are vectorised), masked where the tap falls outside the image (zero padding), and
one multiply-add with the tap's weights. Neighbouring taps read the same lines, which the L1 and L2 caches
serve; the image itself is read from memory about once. The epilogue adds the bias, applies the
activation and, for ``x + act(conv(x))`` (MambaIRv2's ConvFFN), adds the input back, so the whole
expression is one pass over memory instead of a convolution and an elementwise kernel.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device

ACTIVATIONS = {"none": 0, "gelu": 1, "silu": 2, "sigmoid": 3}


@triton.jit
def _activate(v, ACT: tl.constexpr):
    if ACT == 1:  # GELU, erf form (PyTorch's default)
        v = 0.5 * v * (1.0 + tl.erf(v * 0.7071067811865476))
    elif ACT == 2:
        v = v * tl.sigmoid(v)
    elif ACT == 3:
        v = tl.sigmoid(v)
    return v


@triton.jit
def _accumulate_row(acc, x_row, w_ptr, offsets, xs, cs, c_ok, row_ok, dy, ky, width,
                    K: tl.constexpr, PAD: tl.constexpr, DIL: tl.constexpr, CHANNELS: tl.constexpr,
                    EVEN_C: tl.constexpr):
    """Add the k taps of kernel row ``ky`` (input row offset ``dy``) to ``acc``."""
    for kx in tl.static_range(K):
        ix = xs + kx * DIL - PAD
        ok = row_ok & (ix >= 0) & (ix < width)
        if EVEN_C:
            mask = ok[:, None]
        else:
            mask = ok[:, None] & c_ok[None, :]
        v = tl.load(x_row + (dy * width + (kx * DIL - PAD)) * CHANNELS + offsets, mask=mask, other=0.0)
        w = tl.load(w_ptr + (ky * K + kx) * CHANNELS + cs, mask=c_ok, other=0.0)
        acc += v.to(tl.float32) * w[None, :]
    return acc


@triton.jit
def _depthwise_conv_kernel(
    x_ptr, w_ptr, b_ptr, out_ptr,
    height, width, blocks_w,
    CHANNELS: tl.constexpr, K: tl.constexpr, PAD: tl.constexpr, DIL: tl.constexpr, ACT: tl.constexpr,
    HAS_BIAS: tl.constexpr, RESIDUAL: tl.constexpr, EVEN_C: tl.constexpr, UNROLL: tl.constexpr,
    BLOCK_W: tl.constexpr, BLOCK_C: tl.constexpr,
):
    pid = tl.program_id(0)
    row = pid // blocks_w  # over batch x height
    y = row % height
    xs = (pid % blocks_w) * BLOCK_W + tl.arange(0, BLOCK_W)
    cs = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    c_ok = cs < CHANNELS
    row_start = row.to(tl.int64) * width * CHANNELS  # int64: whole 4K images of 360 channels pass 2^31
    offsets = xs[:, None] * CHANNELS + cs[None, :]
    x_row = x_ptr + row_start
    acc = tl.zeros((BLOCK_W, BLOCK_C), dtype=tl.float32)
    if UNROLL:  # every tap's load in view of the scheduler: more in flight, more registers
        for ky in tl.static_range(K):
            dy = ky * DIL - PAD
            acc = _accumulate_row(acc, x_row, w_ptr, offsets, xs, cs, c_ok, (y + dy >= 0) & (y + dy < height),
                                  dy, ky, width, K, PAD, DIL, CHANNELS, EVEN_C)
    else:  # one kernel row at a time: k loads in flight
        for ky in range(K):
            dy = ky * DIL - PAD
            acc = _accumulate_row(acc, x_row, w_ptr, offsets, xs, cs, c_ok, (y + dy >= 0) & (y + dy < height),
                                  dy, ky, width, K, PAD, DIL, CHANNELS, EVEN_C)
    if HAS_BIAS:
        acc += tl.load(b_ptr + cs, mask=c_ok, other=0.0).to(tl.float32)[None, :]
    acc = _activate(acc, ACT)
    out_mask = (xs < width)[:, None] & c_ok[None, :]
    if RESIDUAL:
        acc += tl.load(x_row + offsets, mask=out_mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + row_start + offsets, acc.to(out_ptr.dtype.element_ty), mask=out_mask)


def depthwise_conv_triton(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, height: int,
                          width: int, *, padding: int, dilation: int = 1, activation: str = "none",
                          residual: bool = False, block_w: int = 32, block_c: int = 64, num_warps: int = 4,
                          unroll: bool = False) -> torch.Tensor:
    """``[x +] act(conv(x) + bias)`` of (B, H*W, C) contiguous tokens -> (B, H*W, C) in ``x``'s dtype.

    ``weight``: (C, 1, k, k), rounded to ``x``'s dtype (as the convolution would be) and read as a
    float32 (k², C) table; the sums are float32. Stride 1, zero padding.
    """
    b, n, c = x.shape
    k = weight.shape[-1]
    taps = weight.to(x.dtype).reshape(c, k * k).t().float().contiguous()  # one row of C weights per tap
    out = torch.empty_like(x)
    blocks_w = triton.cdiv(width, block_w)
    grid = (b * height * blocks_w, triton.cdiv(c, block_c))
    with on_tensor_device(x):
        _depthwise_conv_kernel[grid](
            x, taps, bias if bias is not None else taps, out, height, width, blocks_w,
            CHANNELS=c, K=k, PAD=padding, DIL=dilation, ACT=ACTIVATIONS[activation], HAS_BIAS=bias is not None,
            RESIDUAL=residual, EVEN_C=c % block_c == 0, UNROLL=unroll, BLOCK_W=block_w, BLOCK_C=block_c,
            num_warps=num_warps,
        )  # fmt: skip
    return out


__all__ = ["ACTIVATIONS", "depthwise_conv_triton"]

"""Depthwise k x k convolution of channel-last tokens as one Triton kernel (CUDA), with its launcher.

One program per block of ``BLOCK_H x BLOCK_W`` pixels and ``BLOCK_C`` channels. Its output tile stays in
float32 registers while it walks the k² taps: each tap is one load of a shifted pixels x channels tile of
the input (the same pointer tile plus one scalar offset, channels contiguous, so the loads are
vectorised), masked where the tap falls outside the image (zero padding), and one multiply-add with the
tap's weights. Neighbouring taps read the same lines, which the L1 and L2 caches
serve; the image itself is read from memory about once. The epilogue adds the bias, applies the
activation and combines the result with the input where the model does (``x + gelu(conv(x))`` in
MambaIRv2's ConvFFN, ``x * sigmoid(conv(x))`` in its position encoding), so the whole expression is one
pass over memory instead of a convolution and one or two elementwise kernels.

Measured (``tools/jobs/results/perf15-depthwise-blocks.txt``, H100, bf16, one conv at 180x320 or
192x320): cuDNN's channel-last depthwise kernel alone, without a bias, is as fast as this one or a little
faster (MambaIRv2 Base's 5x5 on 352 channels 135 vs ~148 us, MambaIR classic's 3x3 on 360 54 vs 64 us);
with a bias it takes a slower path, and the epilogue costs one or two more passes. So what the kernel
wins is the fusion: against cuDNN plus the elementwise kernels (as eager bf16 ran), v2 Base's ConvFFN
276 -> 149 us, its position conv 152 -> 71 us, classic's conv + SiLU 146 -> 64 us, the dilated 3x3 of
MambaIR light's channel attention 124 -> 11 us (cuDNN has no fast kernel for it); in the compiled models,
where Inductor fuses the epilogue after a bias-free cuDNN conv, the GPU kernel time of one 180x320 forward
went 77.9 -> 72.9 ms (v2 Base), 78.6 -> 77.1 (classic), 15.9 -> 15.7 (light), 13.1 -> 12.8 (v2 light)
(``perf15-models-depthwise.txt``). A first version (all 25 taps unrolled: spills; weights gathered from
(C, 1, k, k); channels a runtime argument, so no vector loads) lost to cuDNN at 5x5
(``perf15-depthwise-v1.txt``); blocks of 2, 4 or 8 rows beat blocks of one row by no more than
noise (two rows are the default for wide layers: a little ahead at 3x3 and 1280x720).
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device

ACTIVATIONS = {"none": 0, "gelu": 1, "silu": 2, "sigmoid": 3}
COMBINES = {"none": 0, "add": 1, "mul": 2}  # the result alone, x + result, x * result


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
def _depthwise_conv_kernel(
    x_ptr, w_ptr, b_ptr, out_ptr,
    height, width, blocks_h, blocks_w,
    CHANNELS: tl.constexpr, X_STRIDE: tl.constexpr, K: tl.constexpr, PAD: tl.constexpr, DIL: tl.constexpr,
    ACT: tl.constexpr, HAS_BIAS: tl.constexpr, COMBINE: tl.constexpr, EVEN_C: tl.constexpr,
    BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr, BLOCK_C: tl.constexpr,
):
    pid = tl.program_id(0)
    block_x = pid % blocks_w
    block_y = (pid // blocks_w) % blocks_h
    image = pid // (blocks_w * blocks_h)
    p = tl.arange(0, BLOCK_H * BLOCK_W)  # the block's pixels, row-major
    py = block_y * BLOCK_H + p // BLOCK_W
    px = block_x * BLOCK_W + p % BLOCK_W
    cs = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    c_ok = cs < CHANNELS
    # Pixel offsets from the block's first row, in int32; that row's offset in int64 (a whole 4K image of
    # 360 channels passes 2^31 elements).
    top = (image.to(tl.int64) * height + block_y * BLOCK_H) * width
    relative = (p // BLOCK_W) * width + px
    offsets = relative[:, None] * X_STRIDE + cs[None, :]
    x_block = x_ptr + top * X_STRIDE
    acc = tl.zeros((BLOCK_H * BLOCK_W, BLOCK_C), dtype=tl.float32)
    for ky in range(K):  # one kernel row at a time: k loads in flight (all k² unrolled spilled at 5x5)
        dy = ky * DIL - PAD
        row_ok = (py + dy >= 0) & (py + dy < height)
        for kx in tl.static_range(K):
            dx = kx * DIL - PAD
            ok = row_ok & (px + dx >= 0) & (px + dx < width)
            mask = ok[:, None] if EVEN_C else ok[:, None] & c_ok[None, :]
            v = tl.load(x_block + (dy * width + dx) * X_STRIDE + offsets, mask=mask, other=0.0)
            w = tl.load(w_ptr + (ky * K + kx) * CHANNELS + cs, mask=c_ok, other=0.0)
            acc += v.to(tl.float32) * w[None, :]
    if HAS_BIAS:
        acc += tl.load(b_ptr + cs, mask=c_ok, other=0.0).to(tl.float32)[None, :]
    acc = _activate(acc, ACT)
    out_mask = ((py < height) & (px < width))[:, None] & c_ok[None, :]
    if COMBINE == 1:
        acc += tl.load(x_block + offsets, mask=out_mask, other=0.0).to(tl.float32)
    elif COMBINE == 2:
        acc *= tl.load(x_block + offsets, mask=out_mask, other=0.0).to(tl.float32)
    out_offsets = relative[:, None] * CHANNELS + cs[None, :]
    tl.store(out_ptr + top * CHANNELS + out_offsets, acc.to(out_ptr.dtype.element_ty), mask=out_mask)


def launch_config(channels: int) -> tuple[int, int, int, int]:
    """(rows, pixels per row, channels, warps) per program: wide channel blocks for wide layers, narrow
    ones below 256 channels, where a block of 128 would be mostly padding (``perf15-depthwise.txt``)."""
    return (2, 16, 128, 8) if channels >= 256 else (1, 32, 32, 2)


def tap_table(weight: torch.Tensor) -> torch.Tensor:
    """The kernel's weights: (C, 1, k, k) as a float32 (k², C) table, one contiguous row of C weights per
    tap. Not rounded to the activations' dtype as cuDNN's weights would be under autocast: the float32
    weights are the model's, and the same table whether made eagerly or inside a compiled graph (where
    Inductor drops the round trip through bfloat16 unless told to emulate it)."""
    c, k = weight.shape[0], weight.shape[-1]
    return weight.reshape(c, k * k).t().float().contiguous()


def depthwise_conv_triton(x: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor | None, height: int,
                          width: int, *, padding: int, dilation: int = 1, activation: str = "none",
                          combine: str = "none", block: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    """``x {none, +, *} act(conv(x) + bias)`` of (B, H*W, C) tokens -> contiguous (B, H*W, C) in ``x``'s dtype.

    ``x``: channels contiguous, tokens ``x.stride(1)`` apart (a chunk of a wider projection is read in
    place), batches ``H*W*x.stride(1)`` apart. ``taps``: :func:`tap_table`; ``bias`` read in its dtype.
    Stride 1, zero padding, float32 sums. ``block``: (rows, pixels per row, channels, warps) per program,
    :func:`launch_config` unless given.
    """
    b, n, c = x.shape
    k = math.isqrt(taps.shape[0])
    block_h, block_w, block_c, num_warps = block or launch_config(c)
    out = torch.empty(b, n, c, dtype=x.dtype, device=x.device)
    blocks_h, blocks_w = triton.cdiv(height, block_h), triton.cdiv(width, block_w)
    grid = (b * blocks_h * blocks_w, triton.cdiv(c, block_c))
    with on_tensor_device(x):
        _depthwise_conv_kernel[grid](
            x, taps, bias if bias is not None else taps, out, height, width, blocks_h, blocks_w,
            CHANNELS=c, X_STRIDE=x.stride(1), K=k, PAD=padding, DIL=dilation, ACT=ACTIVATIONS[activation],
            HAS_BIAS=bias is not None, COMBINE=COMBINES[combine], EVEN_C=c % block_c == 0, BLOCK_H=block_h,
            BLOCK_W=block_w, BLOCK_C=block_c, num_warps=num_warps,
        )  # fmt: skip
    return out


__all__ = ["ACTIVATIONS", "COMBINES", "depthwise_conv_triton", "launch_config", "tap_table"]

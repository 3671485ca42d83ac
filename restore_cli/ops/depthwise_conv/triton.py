"""Depthwise k x k convolution of channel-last tokens as one Triton kernel (CUDA), with its launcher.

One program per block of ``BLOCK_H`` rows x ``RUNS · RUN`` pixels x ``BLOCK_C`` channels; every thread
owns a run of ``RUN`` consecutive pixels of one row for a vector of channels, and keeps their sums in
float32 registers. For each kernel row it loads the ``RUN + (k - 1)·dil`` input pixels its run's taps
touch, widens each to float32 once, and uses each for up to k outputs: a sliding window in registers
(:func:`_accumulate_taps`). Loads are of contiguous channel vectors (tokens are the image in
channel-last order; a chunk of a wider projection is read in place through its row stride); blocks whose
taps stay inside the image take a path without masks, the border blocks mask for the zero padding. The
epilogue adds the bias, applies the activation and combines the result with the input where the model
does (``x + gelu(conv(x))`` in MambaIRv2's ConvFFN, ``x * sigmoid(conv(x))`` in its position encoding,
``silu(conv(x))`` in MambaIR's SS2D), or with another tensor of the same tokens (``x1 * conv(x2)`` in
MambaIRv2 light's gate), so the whole expression is one pass over memory instead of a convolution and one
or two elementwise kernels.

Why runs: the first version loaded, masked and widened a pixels x channels tile per tap (the caches
served the overlap), about 4 instructions per output and tap on sm_90, of which one was the multiply-add;
by runs of 4 it is 1.7 (``nvdisasm`` of the interior loop, MambaIRv2 Base's 5x5). Measured on an H100,
bf16, one convolution at 192x320 (``tools/jobs/results/perf16-depthwise.txt``): MambaIRv2 Base's
ConvFFN (5x5, 352 channels, GELU, residual) 150 -> 93 us, where cuDNN's convolution alone, without its
bias, takes 135 us and 277 with the epilogue kernels; its 3x3 position conv 72 -> 53 us; MambaIR classic's
3x3 + SiLU 64 -> 59 us; MambaIRv2 light's 5x5 on 96 channels 32 -> 18 us; MambaIR light's dilated 3x3 of
its channel attention 11 -> 9 us (cuDNN: 115). GPU kernel time of one compiled 180x320 forward
(``perf16-depthwise-in-model.txt``): MambaIRv2 Base 72.5 -> 68.1 ms, v2 light 10.70 -> 10.55, classic and
MambaIR light within noise. (The previous kernel, 2026-11-24, had won 77.9 -> 72.9 ms on v2 Base over
cuDNN with Inductor's fused epilogue, ``perf15-models-depthwise.txt``.) Narrow channel blocks are faster
for the wide layers at 180x320 but much slower at 1280x720, where the image streams from memory and a
32-channel block reads each pixel's line in pieces (MambaIR colour DN's 3x3: 1.5 ms vs 0.8).
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device
from . import tap_table

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
def _widen(v, HW_MATH: tl.constexpr):
    """``v`` as float32. bfloat16 pairs by two integer operations (the low half shifted up, the high half
    masked) where the compiler's conversion takes three."""
    if HW_MATH and v.dtype == tl.bfloat16:
        return tl.inline_asm_elementwise("{ shl.b32 $0, $2, 16; and.b32 $1, $2, 0xffff0000; }", "=r,=r,r", [v],
                                         dtype=tl.float32, is_pure=True, pack=2)
    else:
        return v.to(tl.float32)


@triton.jit
def _accumulate_taps(x_block, offsets, w_ptr, cs, py, px, height, width, CHANNELS: tl.constexpr,
                     X_STRIDE: tl.constexpr, K: tl.constexpr, PAD: tl.constexpr, DIL: tl.constexpr,
                     RUN: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr, MASKED: tl.constexpr,
                     HW_MATH: tl.constexpr):
    """The k² taps summed for every pixel of the block's runs: a tuple of ``RUN`` float32 tiles, tile ``i``
    holding pixel ``i`` of every run. Per kernel row, the ``RUN + (k - 1)·dil`` input pixels a run's
    taps touch are loaded and converted once and each used by up to k outputs (a sliding window in
    registers). ``MASKED``: zero padding by masks, for blocks whose taps leave the image."""
    accs = ()
    for _ in tl.static_range(RUN):
        accs = accs + (tl.zeros((BLOCK_M, BLOCK_C), dtype=tl.float32),)
    for ky in range(K):  # one kernel row at a time (all unrolled is more registers than it saves)
        dy = ky * DIL - PAD
        weights = ()
        for kx in tl.static_range(K):
            weights = weights + (tl.load(w_ptr + (ky * K + kx) * CHANNELS + cs)[None, :],)
        row_ok = (py + dy >= 0) & (py + dy < height)
        window = ()
        for j in tl.static_range(RUN + (K - 1) * DIL):
            pointers = x_block + (dy * width + j - PAD) * X_STRIDE + offsets
            if MASKED:
                ok = row_ok & (px + j - PAD >= 0) & (px + j - PAD < width)
                window = window + (_widen(tl.load(pointers, mask=ok[:, None], other=0.0), HW_MATH),)
            else:
                window = window + (_widen(tl.load(pointers), HW_MATH),)
        summed = ()
        for i in tl.static_range(RUN):
            acc = accs[i]
            for kx in tl.static_range(K):
                acc += window[i + kx * DIL] * weights[kx]
            summed = summed + (acc,)
        accs = summed
    return accs


@triton.jit
def _depthwise_conv_kernel(
    x_ptr, w_ptr, b_ptr, out_ptr, other_ptr,
    height, width, blocks_h, blocks_w, x_batch_stride, other_batch_stride,
    CHANNELS: tl.constexpr, X_STRIDE: tl.constexpr, K: tl.constexpr, PAD: tl.constexpr, DIL: tl.constexpr,
    ACT: tl.constexpr, HAS_BIAS: tl.constexpr, COMBINE: tl.constexpr, OTHER_STRIDE: tl.constexpr,
    BLOCK_H: tl.constexpr, RUNS: tl.constexpr, RUN: tl.constexpr, BLOCK_C: tl.constexpr, HW_MATH: tl.constexpr,
    CHANNEL_BLOCKS: tl.constexpr, CHANNELS_INNER: tl.constexpr,
):
    """One program per ``BLOCK_H`` rows x ``RUNS · RUN`` pixels x ``BLOCK_C`` channels; each thread owns
    ``RUN`` consecutive pixels of a row (see :func:`_accumulate_taps`). The combination reads ``other_ptr``
    at its own image and token strides: the input itself (the launcher passes it) or another tensor."""
    BLOCK_W: tl.constexpr = RUNS * RUN
    BLOCK_M: tl.constexpr = BLOCK_H * RUNS
    if CHANNELS_INNER:
        channel_block = tl.program_id(0) % CHANNEL_BLOCKS
        pid = tl.program_id(0) // CHANNEL_BLOCKS
    else:
        channel_block = tl.program_id(1)
        pid = tl.program_id(0)
    block_x = pid % blocks_w
    block_y = (pid // blocks_w) % blocks_h
    image = pid // (blocks_w * blocks_h)
    m = tl.arange(0, BLOCK_M)  # the block's runs, row-major
    py = block_y * BLOCK_H + m // RUNS
    px = block_x * BLOCK_W + (m % RUNS) * RUN  # a run's first pixel
    # The last channel block is moved back to end at the last channel (BLOCK_C <= CHANNELS): it redoes a
    # few of its neighbour's channels, writing the same values, and no load or store needs a channel mask.
    cs = tl.minimum(channel_block * BLOCK_C, CHANNELS - BLOCK_C) + tl.arange(0, BLOCK_C)
    # Offsets within the block's rows in int32; the block's first row in int64 (a whole 4K image of 360
    # channels passes 2^31 elements). The input's images are x_batch_stride apart (whatever the caller's
    # layout), the output's are contiguous.
    first_row = (block_y * BLOCK_H).to(tl.int64) * width
    top = image.to(tl.int64) * height * width + first_row
    relative = (m // RUNS) * width + px
    x_block = x_ptr + image.to(tl.int64) * x_batch_stride + first_row * X_STRIDE
    offsets = relative[:, None] * X_STRIDE + cs[None, :]
    reach = (K - 1) * DIL - PAD  # how far the taps reach past a pixel to the bottom / right
    y0 = block_y * BLOCK_H
    x0 = block_x * BLOCK_W
    interior = (y0 >= PAD) & (y0 + BLOCK_H - 1 + reach < height) & (x0 >= PAD) & (x0 + BLOCK_W - 1 + reach < width)
    if interior:
        accs = _accumulate_taps(x_block, offsets, w_ptr, cs, py, px, height, width, CHANNELS, X_STRIDE, K, PAD,
                                DIL, RUN, BLOCK_M, BLOCK_C, False, HW_MATH)
    else:
        accs = _accumulate_taps(x_block, offsets, w_ptr, cs, py, px, height, width, CHANNELS, X_STRIDE, K, PAD,
                                DIL, RUN, BLOCK_M, BLOCK_C, True, HW_MATH)
    combined = (other_ptr + image.to(tl.int64) * other_batch_stride + first_row * OTHER_STRIDE
                + relative[:, None] * OTHER_STRIDE + cs[None, :])
    bias = tl.zeros((1, BLOCK_C), dtype=tl.float32)
    if HAS_BIAS:
        bias = tl.load(b_ptr + cs).to(tl.float32)[None, :]
    for i in tl.static_range(RUN):
        out_mask = ((py < height) & (px + i < width))[:, None]
        acc = _activate(accs[i] + bias, ACT)
        if COMBINE == 1:
            acc += tl.load(combined + i * OTHER_STRIDE, mask=out_mask, other=0.0).to(tl.float32)
        elif COMBINE == 2:
            acc *= tl.load(combined + i * OTHER_STRIDE, mask=out_mask, other=0.0).to(tl.float32)
        out_offsets = (relative + i)[:, None] * CHANNELS + cs[None, :]
        tl.store(out_ptr + top * CHANNELS + out_offsets, acc.to(out_ptr.dtype.element_ty), mask=out_mask)


def launch_config(channels: int, k: int = 3) -> tuple[int, int, int, int, int]:
    """(rows, runs per row, pixels per run, channels, warps) per program, measured with the channel blocks
    of a tile next to each other in launch order (``tools/jobs/results/perf30a-depthwise-order.txt``, H100,
    bf16): blocks of 128 channels and runs of 8 pixels for 3x3 layers of 256 channels or more (MambaIR
    classic's 360: 49 us at 180x320 against 53-57 for narrower blocks), blocks of 64 where they waste no
    more lanes than blocks of 32 (MambaIR light's 120: 147 against 159 us at 540x960), else blocks of 32
    (colour DN's 216: 440 against 483 us at 1280x720; MambaIRv2 Base's 5x5 on 352: 82 against 90 us),
    and for layers under 32 channels the largest power of two that fits."""
    if channels >= 256 and k <= 3:
        return (2, 4, 8, 128, 8)
    if channels >= 64 and -(-channels // 64) * 64 == -(-channels // 32) * 32:  # no more lanes than 32s
        return (2, 8, 4, 64, 4)
    block_c = min(32, 1 << (channels.bit_length() - 1))
    return (2, 8, 4, block_c, 2 if block_c == 32 else 1)


def depthwise_conv_triton(x: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor | None, height: int,
                          width: int, *, padding: int, dilation: int = 1, activation: str = "none",
                          combine: str = "none", other: torch.Tensor | None = None,
                          block: tuple[int, ...] | None = None, channels_inner: bool = True) -> torch.Tensor:
    """``x {none, +, *} act(conv(x) + bias)`` of (B, H*W, C) tokens -> contiguous (B, H*W, C) in ``x``'s dtype;
    with ``other`` (tokens of the same shape, channels contiguous, any token and image stride) combined
    with ``other`` instead of ``x``.

    ``x``: channels contiguous, tokens ``x.stride(1)`` apart (a chunk of a wider projection is read in
    place), images ``x.stride(0)`` apart. ``taps``: :func:`tap_table`; ``bias`` read in its dtype.
    Stride 1, zero padding, float32 sums. ``block``: (rows, runs per row, pixels per run, channels, warps)
    per program, :func:`launch_config` unless given; its channels at most ``C``. ``channels_inner``: launch
    a tile's channel blocks one after another (else every tile of the first channel block, then of the
    next: kept for the A/B script), so that the programs running together read whole token rows: colour
    DN's 3x3 at 1280x720 836 -> 440 us, MambaIR light's at 540x960 259 -> 159 us, where a 32-channel block
    read 64 bytes of each 432-byte row and the rest came back from DRAM later (perf30a-depthwise-order.txt).
    """
    b, n, c = x.shape
    if other is None:
        other = x
    elif other.shape != x.shape or other.stride(-1) != 1:
        raise ValueError(f"combined tokens {tuple(other.shape)} do not match the input's {tuple(x.shape)} "
                         "with contiguous channels")
    k = math.isqrt(taps.shape[0])
    block = block or launch_config(c, k)
    out = torch.empty(b, n, c, dtype=x.dtype, device=x.device)
    block_h, runs, run, block_c, num_warps = block
    if block_c > c:
        raise ValueError(f"a channel block of {block_c} is wider than the layer's {c} channels")
    blocks_h, blocks_w = triton.cdiv(height, block_h), triton.cdiv(width, runs * run)
    channel_blocks = triton.cdiv(c, block_c)
    if channels_inner:
        grid = (b * blocks_h * blocks_w * channel_blocks,)
    else:
        grid = (b * blocks_h * blocks_w, channel_blocks)
    with on_tensor_device(x):
        _depthwise_conv_kernel[grid](
            x, taps, bias if bias is not None else taps, out, other, height, width, blocks_h, blocks_w, x.stride(0),
            other.stride(0),
            CHANNELS=c, X_STRIDE=x.stride(1), K=k, PAD=padding, DIL=dilation, ACT=ACTIVATIONS[activation],
            HAS_BIAS=bias is not None, COMBINE=COMBINES[combine],
            OTHER_STRIDE=other.stride(1), BLOCK_H=block_h, RUNS=runs, RUN=run,
            BLOCK_C=block_c, HW_MATH=x.is_cuda, CHANNEL_BLOCKS=channel_blocks, CHANNELS_INNER=channels_inner,
            num_warps=num_warps,
        )  # fmt: skip
    return out


__all__ = ["ACTIVATIONS", "COMBINES", "depthwise_conv_triton", "launch_config", "tap_table"]

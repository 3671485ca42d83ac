"""Shifted-window attention as one Triton kernel (CUDA), with its launcher; see the package docstring.

One program per (window, head, block of ``BLOCK_M`` query tokens). Token ``t`` of window ``(wr, wc)``
stands at ``(wr·ws + t // ws, wc·ws + t % ws)`` of the rolled canvas, i.e. at pixel ``((y + shift) % H,
(x + shift) % W)`` of the image, where it is read (q, k and v at channel offsets 0, C and 2C) and where its
output is written: the roll, the window cut and their inverses are index arithmetic. The program walks
the window's keys in blocks of ``BLOCK_N``; each block's scores stay in registers (float32): scaled
``q·k``, plus the head's relative position bias, plus -100 between tokens of different regions of the
rolled canvas (Swin's mask, recomputed from positions: rows and columns are labelled 0/1/2 by the bands
[0, H-ws), [H-ws, H-shift), [H-shift, H), as :func:`restore_cli.archs.windows.shifted_window_mask` does),
all in log2 units for ``exp2``; the softmax is rescaled online as flash attention does, then ``p·v`` is
accumulated. Tensor cores do both products (bf16/fp16 inputs; float32 inputs use full-precision dots,
so the float32 path stays within rounding of the reference).

Key blocks (since 2026-11-24): the first version held all 256 scores of its 64 queries at once, which
took 255 registers with spills (2 programs per SM); with blocks of 64 keys it takes 128 and none
(``tools/jobs/results/perf14-window-attention-key-blocks.txt``, H100, bf16, one layer at 180x320:
MambaIRv2 Base 264 / 296 -> 159 / 172 us, plain / shifted windows; light 107 / 120 -> 70 / 79 us).

Index work (since 2026-11-24, seventeenth session): the head width is a compile-time constant, so the
loads of a head's channels are provably whole 4- or 8-element runs and become vector copies (MambaIRv2
light's heads of 12 were loaded two bytes at a time: 24 scalar loads and shared-memory stores per
iteration); the roll wraps positions by compare-and-subtract instead of an integer ``%``; and the shift
mask is applied only in the last row and column of windows, the only ones whose tokens span regions. sm_90
SASS of the light kernel (``tools/jobs`` offline count): 1080 -> 800 instructions unmasked, 1448 -> 1112
with the mask. Same scores and sums, so the same outputs.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..launch import on_tensor_device


@triton.jit
def _wrap(pos, size):
    """``(pos) % size`` for 0 <= pos < 2·size: one compare and select instead of an integer division."""
    return tl.where(pos >= size, pos - size, pos)


@triton.jit
def _band(pos, size, WS: tl.constexpr):
    """Label 0/1/2 of rolled-canvas positions by the bands [0, size-ws), [size-ws, size-ws/2), [size-ws/2, size)."""
    return (pos >= size - WS).to(tl.int32) + (pos >= size - WS // 2).to(tl.int32)


@triton.jit
def _window_attention_kernel(
    qkv_ptr, bias_ptr, out_ptr,
    height, width, shift, scale, channels, windows_w, windows_per_image,
    s_qb, s_qh, s_qw, s_ob, s_oh, s_ow,
    WS: tl.constexpr, N: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
    BLOCK_D: tl.constexpr, MASKED: tl.constexpr, IEEE: tl.constexpr,
):  # fmt: skip
    pid_w = tl.program_id(0)
    head = tl.program_id(1)
    pid_m = tl.program_id(2)
    image = (pid_w // windows_per_image).to(tl.int64)
    window = pid_w % windows_per_image
    row0 = (window // windows_w) * WS
    col0 = (window % windows_w) * WS

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)  # query tokens of the window
    offs_d = tl.arange(0, BLOCK_D)
    mask_d = offs_d < HEAD_DIM  # a constant: loads of whole 4- or 8-element runs of a head (vectors)
    y_m = row0 + offs_m // WS  # rolled-canvas positions
    x_m = col0 + offs_m % WS
    pix_m = _wrap(y_m + shift, height).to(tl.int64) * s_qh + _wrap(x_m + shift, width) * s_qw
    base = qkv_ptr + image * s_qb + head * HEAD_DIM + offs_d[None, :]
    q = tl.load(base + pix_m[:, None], mask=mask_d[None, :], other=0.0)
    # Swin's mask separates regions of the rolled canvas only in the last row and column of windows
    # (band edges at size - ws and size - ws/2): elsewhere every label is 0 and the mask adds nothing
    edge = (row0 == height - WS) | (col0 == width - WS)
    if MASKED:
        label_m = _band(y_m, height, WS) * 3 + _band(x_m, width, WS)

    # scores in log2 units (exp2 is the hardware's exponential): log2(e) folded into the scale and bias
    qk_scale = scale * 1.4426950408889634
    row_max = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)
    row_sum = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_M, BLOCK_D), dtype=tl.float32)
    for start_n in range(0, N, BLOCK_N):  # key blocks, softmax rescaled online (flash attention's loop)
        offs_n = start_n + tl.arange(0, BLOCK_N)
        y_n = row0 + offs_n // WS
        x_n = col0 + offs_n % WS
        pix_n = _wrap(y_n + shift, height).to(tl.int64) * s_qh + _wrap(x_n + shift, width) * s_qw
        k = tl.load(base + channels + pix_n[:, None], mask=mask_d[None, :], other=0.0)
        v = tl.load(base + 2 * channels + pix_n[:, None], mask=mask_d[None, :], other=0.0)
        if IEEE:
            s = tl.dot(q, tl.trans(k), input_precision="ieee")
        else:
            s = tl.dot(q, tl.trans(k))
        bias = tl.load(bias_ptr + head * N * N + offs_m[:, None] * N + offs_n[None, :]).to(tl.float32)
        s = s * qk_scale + bias * 1.4426950408889634
        if MASKED:  # noqa: SIM102 (a constant, then a run-time branch: Triton has no `and` of the two)
            if edge:
                label_n = _band(y_n, height, WS) * 3 + _band(x_n, width, WS)
                s += tl.where(label_m[:, None] == label_n[None, :], 0.0, -100.0 * 1.4426950408889634)
        new_max = tl.maximum(row_max, tl.max(s, axis=1))
        rescale = tl.exp2(row_max - new_max)
        p = tl.exp2(s - new_max[:, None])
        row_sum = row_sum * rescale + tl.sum(p, axis=1)
        if IEEE:
            acc = acc * rescale[:, None] + tl.dot(p, v.to(tl.float32), input_precision="ieee")
        else:
            acc = acc * rescale[:, None] + tl.dot(p.to(v.dtype), v)
        row_max = new_max
    o = acc / row_sum[:, None]

    out = out_ptr + image * s_ob + head * HEAD_DIM + offs_d[None, :]
    out += (_wrap(y_m + shift, height).to(tl.int64) * s_oh + _wrap(x_m + shift, width) * s_ow)[:, None]
    tl.store(out, o.to(out_ptr.dtype.element_ty), mask=mask_d[None, :])


def window_attention_triton(qkv: torch.Tensor, bias: torch.Tensor, *, num_heads: int, window_size: int,
                            shift: int, scale: float, block_m: int = 64, block_n: int = 64,
                            num_warps: int = 4, num_stages: int | None = None,
                            bias_dtype: torch.dtype | None = None) -> torch.Tensor:
    """Shifted-window attention of a (B, H, W, 3C) image (channels contiguous) -> (B, H, W, C) contiguous,
    in ``qkv``'s dtype. ``bias``: (heads, ws², ws²) (:func:`..attention_bias`), read as ``bias_dtype``
    (default float32) and added in float32."""
    b, h, w, c3 = qkv.shape
    channels, ws, n = c3 // 3, window_size, window_size * window_size
    head_dim = channels // num_heads
    out = torch.empty(b, h, w, channels, dtype=qkv.dtype, device=qkv.device)
    bias = bias.to(bias_dtype or torch.float32).contiguous()
    stages = {} if num_stages is None else {"num_stages": num_stages}
    block_m, block_n = min(block_m, n), min(block_n, n)
    windows_per_image = (h // ws) * (w // ws)
    grid = (b * windows_per_image, num_heads, n // block_m)
    with on_tensor_device(qkv):
        _window_attention_kernel[grid](
            qkv, bias, out, h, w, shift, scale, channels, w // ws, windows_per_image,
            qkv.stride(0), qkv.stride(1), qkv.stride(2), out.stride(0), out.stride(1), out.stride(2),
            WS=ws, N=n, BLOCK_M=block_m, BLOCK_N=block_n, HEAD_DIM=head_dim,
            BLOCK_D=max(16, triton.next_power_of_2(head_dim)),
            MASKED=shift > 0,
            IEEE=qkv.dtype == torch.float32, num_warps=num_warps, **stages,
        )  # fmt: skip
    return out


__all__ = ["window_attention_triton"]

"""Per-image channel means of (B, L, C) rows as a Triton kernel (CUDA inference); the reference is in
``__init__``.

Program (block, image) sums ``BLOCK_L`` rows of all channels in float32, walking them ``STEP_L`` at a
time, and writes one row of partial sums (longer blocks for large images: at most ``_MAX_BLOCKS``);
``partials.sum(1) / L`` then adds the blocks up in a fixed order. For the channel attention one program
per image adds the partial sums up (also in a fixed order) and computes the
squeeze, ReLU, excite and sigmoid of the means in registers.
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


@triton.jit
def _channel_attention_kernel(partial_ptr, mb_ptr, w1_ptr, b1_ptr, w2_ptr, b2_ptr, out_ptr, length, channels,
                              squeezed, blocks, HAS_MEAN_BIAS: tl.constexpr, HAS_B1: tl.constexpr,
                              HAS_B2: tl.constexpr, CHUNK: tl.constexpr, BLOCK_C: tl.constexpr,
                              BLOCK_S: tl.constexpr):
    image = tl.program_id(0).to(tl.int64)
    col = tl.arange(0, BLOCK_C)
    mask_c = col < channels
    sums = tl.zeros((BLOCK_C,), dtype=tl.float32)
    for start in range(0, blocks, CHUNK):
        block = start + tl.arange(0, CHUNK)
        where = (image * blocks + block)[:, None] * BLOCK_C + col[None, :]
        sums += tl.sum(tl.load(partial_ptr + where, mask=(block < blocks)[:, None], other=0.0), axis=0)
    mean = sums / length
    if HAS_MEAN_BIAS:
        mean += tl.load(mb_ptr + col, mask=mask_c, other=0.0).to(tl.float32)
    row = tl.arange(0, BLOCK_S)
    mask = (row < squeezed)[:, None] & mask_c[None, :]
    w1 = tl.load(w1_ptr + row[:, None] * channels + col[None, :], mask=mask, other=0.0).to(tl.float32)
    s = tl.sum(w1 * mean[None, :], axis=1)  # (S,): squeeze
    if HAS_B1:
        s += tl.load(b1_ptr + row, mask=row < squeezed, other=0.0).to(tl.float32)
    s = tl.maximum(s, 0.0)
    w2 = tl.load(w2_ptr + col[None, :] * squeezed + row[:, None], mask=mask, other=0.0).to(tl.float32)  # W2[c, s]
    e = tl.sum(w2 * s[:, None], axis=0)  # (C,): excite
    if HAS_B2:
        e += tl.load(b2_ptr + col, mask=mask_c, other=0.0).to(tl.float32)
    tl.store(out_ptr + image * channels + col, tl.sigmoid(e), mask=mask_c)


#: At most this many partial sums per image: the attention kernel adds them up in one program per image,
#: which at colour DN's 1280x720 (3600 blocks of 256 rows) took longer than the launches it saves
#: (``tools/jobs/results/perf33a-ab.txt``); longer blocks keep that sum short and the grid still fills the GPU.
_MAX_BLOCKS = 512


def _partial_sums(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(B, blocks, BLOCK_C) float32 partial sums of (B, L, C) rows, and the number of blocks."""
    if x.dim() != 3 or x.stride(-1) != 1:
        raise ValueError(f"the channel kernels need (B, L, C) rows with contiguous channels, not {tuple(x.shape)}")
    b, length, channels = x.shape
    block_c = triton.next_power_of_2(channels)
    step_l = max(1, min(32, 4096 // block_c))
    block_l = step_l * 16
    while triton.cdiv(length, block_l) > _MAX_BLOCKS:
        block_l *= 2
    blocks = triton.cdiv(length, block_l)
    partials = torch.empty(b, blocks, block_c, dtype=torch.float32, device=x.device)
    with on_tensor_device(x):
        _channel_sum_kernel[(blocks, b)](x, partials, length, channels, x.stride(0), x.stride(1), blocks,
                                         BLOCK_L=block_l, STEP_L=step_l, BLOCK_C=block_c, num_warps=4)
    return partials, blocks


def channel_mean_triton(x: torch.Tensor) -> torch.Tensor:
    """(B, L, C) rows (channels contiguous, any row and image stride) -> (B, C) float32 means over L."""
    partials, _blocks = _partial_sums(x)
    return partials[..., : x.shape[-1]].sum(1) / x.shape[1]


def channel_attention_triton(x: torch.Tensor, squeeze_weight: torch.Tensor, squeeze_bias: torch.Tensor | None,
                             excite_weight: torch.Tensor, excite_bias: torch.Tensor | None, *,
                             mean_bias: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`..channel_mean.channel_attention_reference` of (B, L, C) rows in two launches: the partial sums,
    then one program per image (C <= 4096 channels, S <= 64 squeezed)."""
    b, length, channels = x.shape
    squeezed = squeeze_weight.shape[0]
    if squeeze_weight.shape != (squeezed, channels) or excite_weight.shape != (channels, squeezed) or squeezed > 64:
        raise ValueError(f"squeeze {tuple(squeeze_weight.shape)} and excite {tuple(excite_weight.shape)} do not "
                         f"fit {channels} channels")
    partials, blocks = _partial_sums(x)
    out = torch.empty(b, channels, dtype=torch.float32, device=x.device)
    w1, w2 = squeeze_weight.contiguous(), excite_weight.contiguous()
    with on_tensor_device(x):
        _channel_attention_kernel[(b,)](
            partials, w1 if mean_bias is None else mean_bias, w1, w1 if squeeze_bias is None else squeeze_bias,
            w2, w2 if excite_bias is None else excite_bias, out, length, channels, squeezed, blocks,
            HAS_MEAN_BIAS=mean_bias is not None, HAS_B1=squeeze_bias is not None, HAS_B2=excite_bias is not None,
            CHUNK=max(1, 4096 // partials.shape[-1]), BLOCK_C=partials.shape[-1],
            BLOCK_S=max(2, triton.next_power_of_2(squeezed)), num_warps=4,
        )
    return out


__all__ = ["channel_attention_triton", "channel_mean_triton"]

"""Shifted-window multi-head attention on a channel-last image, behind one function.

MambaIRv2's attention (Swin's): the qkv projection of an image (B, H, W, 3C) is rolled by ``-shift``,
cut into ws x ws windows, each head attends within its window with a learned relative position bias (and,
for shifted layers, a mask of -100 between tokens that the roll brought together), and the result goes
back through the inverse cut and roll. Written as PyTorch ops, that is three copies of the image (roll,
partition, and their inverses) and, per layer, a score tensor of windows x heads x ws^4 values (189 MB in
bf16 for MambaIRv2 Base at 180x320) written and read back several times: in the compiled model the softmax
kernel alone took 15% of the GPU time, more than the scan.

Backends (the reference beside the kernel, as in :mod:`restore_cli.ops.scan`):

- ``"reference"``: :func:`window_attention_reference`, the official computation, the specification;
- ``"triton"``: one kernel (:mod:`.triton`) for CUDA inference: each program reads its window's queries,
  keys and values straight from the image by index arithmetic (roll and partition included), computes
  its scores in registers (with the bias, and the shift mask recomputed from token positions), and writes
  its output where the inverse roll puts it. No score tensor, no copies.
"""

from __future__ import annotations

import torch

from ..launch import triton_available


def attention_bias(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The (heads, n, n) bias of a ((2ws-1)², heads) relative position table and its (n, n) index."""
    n = index.shape[0]
    return table[index.reshape(-1)].view(n, n, -1).permute(2, 0, 1).contiguous()


def window_attention_reference(qkv: torch.Tensor, bias: torch.Tensor, *, num_heads: int, window_size: int,
                               shift: int, scale: float) -> torch.Tensor:
    """Official shifted-window attention of a (B, H, W, 3C) image of packed [q | k | v] (each head-major)
    -> (B, H, W, C) in ``qkv``'s dtype (before the output projection). H and W are multiples of ws."""
    from ...archs.windows import shifted_window_mask, window_partition, window_reverse

    _, h, w, c3 = qkv.shape
    c, ws, n = c3 // 3, window_size, window_size * window_size
    if shift:
        qkv = torch.roll(qkv, shifts=(-shift, -shift), dims=(1, 2))
    windows = window_partition(qkv, ws).reshape(-1, n, 3, num_heads, c // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = windows[0], windows[1], windows[2]
    attn = (q * scale) @ k.transpose(-2, -1) + bias.to(q.dtype).unsqueeze(0)
    if shift:
        mask = shifted_window_mask(h, w, ws, device=qkv.device).to(attn.dtype)
        nw = mask.shape[0]
        attn = (attn.view(-1, nw, num_heads, n, n) + mask[None, :, None]).view(-1, num_heads, n, n)
    out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(-1, ws, ws, c)
    out = window_reverse(out, ws, h, w)
    if shift:
        out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
    return out


def use_triton(qkv: torch.Tensor, num_heads: int, window_size: int) -> bool:
    """The kernel applies: CUDA with Triton (:func:`..launch.triton_available`), no autograd, a power-of-two
    window area of 16 to 1024 tokens, a head dimension of at most 128, and channels contiguous."""
    if not (qkv.is_cuda and triton_available()):
        return False
    n = window_size * window_size
    head_dim = qkv.shape[-1] // 3 // num_heads
    return (not torch.is_grad_enabled() and 16 <= n <= 1024 and n & (n - 1) == 0
            and head_dim <= 128 and qkv.stride(-1) == 1 and qkv.numel() > 0)


def window_attention(qkv: torch.Tensor, bias: torch.Tensor, *, num_heads: int, window_size: int, shift: int,
                     scale: float, backend: str = "auto") -> torch.Tensor:
    """Shifted-window attention of a channel-last image (see :func:`window_attention_reference` for the
    arguments); ``backend``: ``auto`` (the kernel where :func:`use_triton`), ``triton``, ``reference``."""
    if backend not in ("auto", "triton", "reference"):
        raise ValueError(f"unknown window-attention backend {backend!r}; choose auto, triton or reference")
    _, h, w, c3 = qkv.shape
    if h % window_size or w % window_size or c3 % (3 * num_heads):
        raise ValueError(f"a {h}x{w} image of {c3} qkv channels does not split into {window_size}x{window_size} "
                         f"windows of {num_heads} heads")
    kernel = backend == "triton" or (backend == "auto" and use_triton(qkv, num_heads, window_size))
    if kernel and torch.compiler.is_compiling():  # one opaque node in a compiled region
        return window_attention_op(qkv, bias, num_heads, window_size, shift, scale)
    if kernel:
        from .triton import window_attention_triton

        return window_attention_triton(qkv, bias, num_heads=num_heads, window_size=window_size, shift=shift,
                                       scale=scale)
    return window_attention_reference(qkv, bias, num_heads=num_heads, window_size=window_size, shift=shift,
                                      scale=scale)


@torch.library.custom_op("restore::window_attention", mutates_args=())
def window_attention_op(qkv: torch.Tensor, bias: torch.Tensor, num_heads: int, window_size: int, shift: int,
                        scale: float) -> torch.Tensor:
    """The kernel as one operator for ``torch.compile`` (contiguous (B, H, W, C) output)."""
    from .triton import window_attention_triton

    return window_attention_triton(qkv, bias, num_heads=num_heads, window_size=window_size, shift=shift,
                                   scale=scale)


@window_attention_op.register_fake
def _(qkv, bias, num_heads, window_size, shift, scale):
    return qkv.new_empty(*qkv.shape[:-1], qkv.shape[-1] // 3)


__all__ = ["attention_bias", "use_triton", "window_attention", "window_attention_reference"]

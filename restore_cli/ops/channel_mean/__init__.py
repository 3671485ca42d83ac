"""The mean of each image's channels over its pixels (a channel attention's global pooling), behind one
function, with the backend chosen per call.

MambaIR's CAB pools its convolved features (channel-last, bf16 under autocast) to one float32 value per
channel before its channel attention. PyTorch reduces the pixels of a channel-last image with few outputs
(one per channel) slowly: on an H100 at MambaIR classic's 180x320, 107 us a call for 21 MB (3.9 ms of a
70 ms eager forward; ``tools/jobs/results/perf30d-profiles.txt``), where a pass over the same bytes takes
about 10.

Backends (the reference beside the kernel, as in :mod:`restore_cli.ops.scan`):

- ``"reference"``: ``x.mean(pixels, dtype=float32)`` (:func:`channel_mean_reference`): on the CPU, with
  autograd, inside compiled regions (Inductor's own reduction is fast), and for layouts the kernel does not
  read;
- ``"triton"``: one kernel (:mod:`.triton`) for CUDA inference: each program sums a block of pixels of one
  image in float32 and writes its partial sums, which one small reduction adds up in a fixed order (the
  same result every run, unlike atomic adds).

:func:`channel_attention` goes on to the whole channel attention (squeeze, ReLU, excite, sigmoid of the
means): in PyTorch the partial sums' reduction, the division, the bias and the two one-pixel 1x1 convs
are eight small launches per block, each a few microseconds of GPU time (MambaIR light at 180x320 on an
H100: ~0.8 of its 10.1 ms of kernels, against ~0.2 compiled; ``tools/jobs/results/perf32i-profiles-light.txt``).
Its kernel does them in one program per image after the partial sums (:data:`FUSED_ATTENTION`, on: MambaIR
light at 720p 10.5 -> 9.9 ms and 10.3 -> 10.0 ms through the engine on an H100, colour DN and the 4K cases
unchanged; ``tools/jobs/results/perf33d-ab.txt``).
"""

from __future__ import annotations

import torch

from ..launch import triton_available


def channel_mean_reference(x: torch.Tensor) -> torch.Tensor:
    """(B, ..., C) channel-last values -> (B, C) float32 means over every axis between the first and last."""
    return x.mean(dim=tuple(range(1, x.dim() - 1)), dtype=torch.float32)


def use_triton(x: torch.Tensor) -> bool:
    """The kernel applies: CUDA with Triton, no autograd, not compiling, at least one pixel axis, the
    pixels of each image one strided run of rows with the channels contiguous (a channel-last image or
    tokens, padded rows included)."""
    return (x.is_cuda and triton_available() and not torch.is_grad_enabled() and x.dim() >= 3 and x.numel() > 0
            and not torch.compiler.is_compiling() and _rows_are_a_view(x))


def _rows_are_a_view(x: torch.Tensor) -> bool:
    """Whether (B, pixels, C) is a view of ``x`` with contiguous channels: the channels innermost, the pixel
    axes nested (row stride free, so padded rows qualify)."""
    if x.stride(-1) != 1:
        return False
    expected = x.stride(-2)
    for dim in range(x.dim() - 2, 0, -1):
        if x.shape[dim] != 1 and x.stride(dim) != expected:
            return False
        expected *= x.shape[dim]
    return True


def channel_mean(x: torch.Tensor, *, backend: str = "auto") -> torch.Tensor:
    """(B, ..., C) -> (B, C) float32 means over the pixel axes (see :func:`channel_mean_reference`);
    ``backend``: ``auto`` (the kernel where :func:`use_triton`) or ``reference``."""
    if backend not in ("auto", "reference"):
        raise ValueError(f"unknown channel-mean backend {backend!r}; choose auto or reference")
    if backend == "auto" and use_triton(x):
        from .triton import channel_mean_triton

        return channel_mean_triton(x.reshape(x.shape[0], -1, x.shape[-1]))
    return channel_mean_reference(x)


#: Whether :func:`channel_attention` takes its Triton kernel where :func:`use_triton` holds (measured by
#: ``tools/jobs/channel_attention_ab.py``: faster on MambaIR light, neutral on the large cases).
FUSED_ATTENTION = True


def channel_attention_reference(x: torch.Tensor, squeeze_weight: torch.Tensor, squeeze_bias: torch.Tensor | None,
                                excite_weight: torch.Tensor, excite_bias: torch.Tensor | None, *,
                                mean_bias: torch.Tensor | None = None) -> torch.Tensor:
    """A CAB's channel attention of channel-last values ``x`` (B, ..., C): ``sigmoid(excite(relu(squeeze(m))))``
    with ``m`` the (B, C) float32 means over the pixels (:func:`channel_mean`), plus ``mean_bias`` (C) where
    given (a convolution's bias that ``x`` still lacks); ``squeeze_weight`` (S, C) and ``excite_weight``
    (C, S) the two 1x1 convs as matrices, each with its bias or None. Returns (B, C) float32.

    The one-pixel convs are products and sums in float32: inside a compiled region Inductor makes them one
    small reduction; as GEMMs they were two cuBLAS calls, a memset and five transposes and bias adds."""
    mean = channel_mean(x)
    if mean_bias is not None:
        mean = mean + mean_bias.float()
    squeezed = (mean[:, None, :] * squeeze_weight).sum(-1)
    if squeeze_bias is not None:
        squeezed = squeezed + squeeze_bias
    excited = (torch.relu(squeezed)[:, None, :] * excite_weight).sum(-1)
    if excite_bias is not None:
        excited = excited + excite_bias
    return torch.sigmoid(excited)


def channel_attention(x: torch.Tensor, squeeze_weight: torch.Tensor, squeeze_bias: torch.Tensor | None,
                      excite_weight: torch.Tensor, excite_bias: torch.Tensor | None, *,
                      mean_bias: torch.Tensor | None = None, backend: str = "auto") -> torch.Tensor:
    """:func:`channel_attention_reference`'s result, by the partial sums' kernel and one attention kernel
    where :data:`FUSED_ATTENTION` and :func:`use_triton` hold (``backend="auto"``), or as asked
    (``"triton"``, ``"reference"``)."""
    if backend not in ("auto", "triton", "reference"):
        raise ValueError(f"unknown channel-attention backend {backend!r}; choose auto, triton or reference")
    args = (squeeze_weight, squeeze_bias, excite_weight, excite_bias)
    if backend == "triton" or (backend == "auto" and FUSED_ATTENTION and use_triton(x)):
        from .triton import channel_attention_triton

        return channel_attention_triton(x.reshape(x.shape[0], -1, x.shape[-1]), *args, mean_bias=mean_bias)
    return channel_attention_reference(x, *args, mean_bias=mean_bias)


__all__ = ["FUSED_ATTENTION", "channel_attention", "channel_attention_reference", "channel_mean",
           "channel_mean_reference", "use_triton"]

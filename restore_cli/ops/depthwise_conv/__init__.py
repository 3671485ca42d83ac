"""Depthwise k x k convolution of channel-last tokens with its epilogue, behind one function.

Every model of the catalog convolves its token sequences depthwise: MambaIR's SS2D (3x3 then SiLU),
MambaIRv2's ConvFFN (``x + gelu(conv5x5(x))``), its position encoding (``x * sigmoid(conv3x3(x))``) and
its light gate (5x5). Tokens (B, H*W, C) are the image in channel-last order, so the convolution can read
them in place. cuDNN's channel-last depthwise kernel is fast alone but takes a slower path with a bias,
and the bias, the activation and the combination with the input are then one or two more passes over
memory; the kernel does them in its epilogue.

Backends (the reference beside the kernel, as in :mod:`restore_cli.ops.scan`):

- ``"reference"``: :func:`depthwise_conv_tokens_reference`, PyTorch's convolution on the tokens viewed
  as a ``channels_last`` image (cuDNN on CUDA) followed by the epilogue as PyTorch ops: the specification;
- ``"triton"``: one kernel (:mod:`.triton`) for CUDA inference that does all of it in one pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..launch import triton_available

ACTIVATION_FNS = {"none": lambda t: t, "gelu": F.gelu, "silu": F.silu, "sigmoid": torch.sigmoid}
COMBINE_FNS = {"none": lambda x, y: y, "add": lambda x, y: x + y, "mul": lambda x, y: x * y}


def tap_table(weight: torch.Tensor) -> torch.Tensor:
    """The kernel's weights: (C, 1, k, k) as a float32 (k², C) table, one contiguous row of C weights per
    tap. Not rounded to the activations' dtype as cuDNN's weights would be under autocast: the float32
    weights are the model's, and the same table whether made eagerly or inside a compiled graph (where
    Inductor drops the round trip through bfloat16 unless told to emulate it)."""
    c, k = weight.shape[0], weight.shape[-1]
    return weight.reshape(c, k * k).t().float().contiguous()


def depthwise_conv_tokens_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                                    size: tuple[int, int], *, padding: int, dilation: int = 1,
                                    activation: str = "none", combine: str = "none",
                                    other: torch.Tensor | None = None) -> torch.Tensor:
    """``combine(x, act(conv(x) + bias))`` of (B, H*W, C) tokens -> (B, H*W, C), in ``x``'s dtype.

    ``weight``: (C, 1, k, k) (cast to ``x``'s dtype); stride 1, zero padding; ``combine``: ``none`` (the
    activation's output), ``add`` (``x +`` it) or ``mul`` (``x *`` it); with ``other`` (tokens of ``x``'s
    shape) the combination is with ``other`` instead of ``x``.
    """
    b, n, c = x.shape
    height, width = size
    image = x.reshape(b, height, width, c).permute(0, 3, 1, 2)
    bias = None if bias is None else bias.to(x.dtype)
    y = F.conv2d(image, weight.to(x.dtype), bias, padding=padding, dilation=dilation, groups=c)
    y = ACTIVATION_FNS[activation](y.permute(0, 2, 3, 1).reshape(b, n, c))
    return COMBINE_FNS[combine](x if other is None else other.to(x.dtype), y)


def use_triton(x: torch.Tensor) -> bool:
    """The kernel applies: CUDA with Triton (:func:`..launch.triton_available`), no autograd (it has no
    backward), channels contiguous (tokens and images at any stride: a chunk of a projection qualifies),
    not empty."""
    return (x.is_cuda and triton_available() and not torch.is_grad_enabled() and x.numel() > 0
            and x.stride(-1) == 1)


def depthwise_conv_tokens(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, size: tuple[int, int],
                          *, padding: int, dilation: int = 1, activation: str = "none", combine: str = "none",
                          other: torch.Tensor | None = None, taps: torch.Tensor | None = None,
                          backend: str = "auto") -> torch.Tensor:
    """:func:`depthwise_conv_tokens_reference`'s result, by the kernel where :func:`use_triton` holds
    (``backend="auto"``), or as asked (``"triton"``, ``"reference"``).

    ``other``: combine with these tokens instead of ``x`` (cast to ``x``'s dtype).
    ``taps``: the kernel's float32 weight table (:func:`tap_table`) if the caller keeps one;
    otherwise made from ``weight`` on each call (a small copy kernel). The kernel takes weights and bias
    in float32 where the reference (cuDNN under autocast) rounds them to ``x``'s dtype first: closer to
    the float32 model, and a difference well inside the output's own rounding.
    """
    if backend not in ("auto", "triton", "reference"):
        raise ValueError(f"unknown depthwise-conv backend {backend!r}; choose auto, triton or reference")
    if activation not in ACTIVATION_FNS or combine not in COMBINE_FNS:
        raise ValueError(f"activation {activation!r} / combine {combine!r}: choose from {sorted(ACTIVATION_FNS)} "
                         f"/ {sorted(COMBINE_FNS)}")
    if x.shape[1] != size[0] * size[1] or weight.shape[0] != x.shape[-1] or weight.shape[1] != 1:
        raise ValueError(f"{tuple(x.shape)} tokens of a {size[0]}x{size[1]} image do not fit a depthwise "
                         f"{tuple(weight.shape)} weight")
    if other is not None and other.shape != x.shape:
        raise ValueError(f"combined tokens {tuple(other.shape)} do not match the input's {tuple(x.shape)}")
    if other is not None and not (other.dtype == x.dtype and other.stride(-1) == 1):
        other = other.to(x.dtype).contiguous()  # the kernel reads it in the input's dtype, channels contiguous
    if not (backend == "triton" or (backend == "auto" and use_triton(x))):
        return depthwise_conv_tokens_reference(x, weight, bias, size, padding=padding, dilation=dilation,
                                               activation=activation, combine=combine, other=other)
    if taps is None:
        taps = tap_table(weight)
    if torch.compiler.is_compiling():  # one opaque node in a compiled region
        return depthwise_conv_op(x, taps, bias, size[0], size[1], padding, dilation, activation, combine, other)
    from .triton import depthwise_conv_triton

    return depthwise_conv_triton(x, taps, bias, size[0], size[1], padding=padding, dilation=dilation,
                                 activation=activation, combine=combine, other=other)


@torch.library.custom_op("restore::depthwise_conv_tokens", mutates_args=())
def depthwise_conv_op(x: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor | None, height: int, width: int,
                      padding: int, dilation: int, activation: str, combine: str,
                      other: torch.Tensor | None = None) -> torch.Tensor:
    """The kernel as one operator for ``torch.compile`` (contiguous (B, H*W, C) output)."""
    from .triton import depthwise_conv_triton

    return depthwise_conv_triton(x, taps, bias, height, width, padding=padding, dilation=dilation,
                                 activation=activation, combine=combine, other=other)


@depthwise_conv_op.register_fake
def _(x, taps, bias, height, width, padding, dilation, activation, combine, other=None):
    return x.new_empty(x.shape)


__all__ = ["depthwise_conv_tokens", "depthwise_conv_tokens_reference", "tap_table", "use_triton"]

"""LayerNorm over the last axis, behind one function, with the backend chosen per call.

Backends (each implementation has the reference beside it, as in :mod:`restore_cli.ops.scan`):

- ``"reference"``: :func:`torch.nn.functional.layer_norm` in float32 (:func:`layer_norm_reference`), the
  specification, and what runs on the CPU and whenever gradients are needed;
- ``"triton"``: one Triton kernel (:mod:`.triton`), for CUDA inference. MambaIR normalises
  channel-last tokens of 60-180 channels; PyTorch's kernel gives each row one thread block, which at
  60-180 channels leaves it mostly idle (it took 14% of MambaIR light's GPU time, more than the
  convolutions). The kernel normalises a tile of many rows per program instead.

Both return float32 for float32 parameters, whatever the input dtype: that is what ``nn.LayerNorm``
gives under autocast, where PyTorch runs layer_norm in float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..launch import triton_available


def layer_norm_reference(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                         eps: float = 1e-5) -> torch.Tensor:
    """LayerNorm of ``x`` over its last axis, computed and returned in float32 (for float32 parameters)."""
    dtype = torch.promote_types(x.dtype, weight.dtype) if weight is not None else x.dtype
    with torch.autocast(x.device.type, enabled=False):
        return F.layer_norm(x.to(dtype), x.shape[-1:], weight, bias, eps)


def check_padded_width(channels: int, width: int, ones_column: int | None) -> None:
    """Refuse an output row of ``width`` columns that cannot hold ``channels``, or a ones column that is
    not one of its padding columns."""
    if width < channels:
        raise ValueError(f"an output of {width} columns cannot hold {channels} channels")
    if ones_column is not None and not channels <= ones_column < width:
        raise ValueError(f"column {ones_column} is not a padding column of {channels} channels padded to {width}")


def layer_norm_padded_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, eps: float,
                                width: int, *, ones_column: int | None = None) -> torch.Tensor:
    """LayerNorm of ``x`` (..., C) over C in float32, as rows of ``width`` >= C columns whose padding is
    zero, or one in column ``ones_column``: the aligned rows a following GEMM or convolution reads with
    zero-padded weights. A column of ones lets a following 3x3 convolution add its bias as the centre tap's
    weight on that column (zero padding at the border never reaches the centre tap), in the convolution
    itself rather than as a separate pass (cuDNN adds a bias after the convolution).

    Written as one padded row (statistics over the real channels, the centred padding masked to zero,
    weight and bias padded with zeros) so that inside a compiled region Inductor makes the LayerNorm and
    the padding one kernel; a LayerNorm followed by a pad is two.
    """
    c = x.shape[-1]
    check_padded_width(c, width, ones_column)
    row = F.pad(x.float(), (0, width - c))
    mean = row.sum(-1, keepdim=True) / c
    real = torch.arange(width, device=x.device) < c
    centred = torch.where(real, row - mean, 0.0)
    rstd = torch.rsqrt(centred.square().sum(-1, keepdim=True) / c + eps)
    shift = F.pad(bias.float(), (0, width - c)) if bias is not None else torch.zeros(width, device=x.device)
    if ones_column is not None:
        shift = shift + F.one_hot(torch.tensor(ones_column, device=x.device), width).float()
    return centred * rstd * F.pad(weight.float(), (0, width - c)) + shift


def use_triton(x: torch.Tensor, weight: torch.Tensor | None) -> bool:
    """The Triton kernel applies: CUDA with Triton (:func:`..launch.triton_available`), no autograd, float32
    parameters, at most 4096 channels.

    Not inside a compiled region: there the compiler's own LayerNorm fuses with its neighbours.
    """
    return (x.is_cuda and triton_available() and not torch.is_grad_enabled() and weight is not None
            and weight.dtype == torch.float32 and x.shape[-1] <= 4096 and x.numel() > 0
            and not torch.compiler.is_compiling())


def layer_norm(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float = 1e-5, *,
               backend: str = "auto") -> torch.Tensor:
    """LayerNorm over the last axis; ``backend``: ``auto`` (Triton where :func:`use_triton`), ``reference``."""
    if backend == "auto" and use_triton(x, weight):
        from .triton import layer_norm_triton

        return layer_norm_triton(x, weight, bias, eps)
    if backend not in ("auto", "reference"):
        raise ValueError(f"unknown layer-norm backend {backend!r}; choose auto or reference")
    return layer_norm_reference(x, weight, bias, eps)


class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` (same parameters, same state_dict keys) that runs :func:`layer_norm`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.normalized_shape) == 1 and use_triton(x, self.weight):
            from .triton import layer_norm_triton

            return layer_norm_triton(x, self.weight, self.bias, self.eps)
        return super().forward(x)


__all__ = ["LayerNorm", "check_padded_width", "layer_norm", "layer_norm_padded_reference", "layer_norm_reference",
           "use_triton"]

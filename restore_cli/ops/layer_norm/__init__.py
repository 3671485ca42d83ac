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


__all__ = ["LayerNorm", "layer_norm", "layer_norm_reference", "use_triton"]

"""Analytic multiply-accumulate (MAC) counting with forward hooks, run on the ``meta`` device.

Convention (the one most restoration papers use when they print "FLOPs"): **1 MAC = one multiply-add**;
we report MACs and call them GMACs. Multiply by 2 for FLOPs in the strict sense.

Counted: ``nn.Conv2d`` (dense, depthwise, dilated: output elements × in/groups × kh × kw),
``nn.Linear`` (output elements × in_features), ``nn.ConvTranspose2d``, and any module that defines
``attention_macs(inputs, output) -> int`` (our linear-attention mixers report their φ(K)ᵀV and φ(Q)S
matmuls through it). Not counted: biases, norms, activations, elementwise products, pooling, pixel
(un)shuffle, padding, and anything a module computes outside those hooks (for example MambaIR's selective
scan). Because the model runs on ``meta`` tensors, counting at 2048² px costs no memory or time, and the
result depends only on shapes, so tests can use it deterministically.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn


def _conv_macs(module: nn.Conv2d | nn.ConvTranspose2d, inputs: tuple, output: torch.Tensor) -> int:
    kh, kw = module.kernel_size
    if isinstance(module, nn.ConvTranspose2d):
        x = inputs[0]
        return x.numel() * (module.out_channels // module.groups) * kh * kw
    return output.numel() * (module.in_channels // module.groups) * kh * kw


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of one forward pass of ``model`` on a zero input of ``input_shape`` (NCHW).

    The model is deep-copied to the ``meta`` device, so the caller's model (and its device) is untouched.
    """
    meta_model = copy.deepcopy(model).to("meta").eval()
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            total += _conv_macs(module, inputs, output)
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        counter = getattr(module, "attention_macs", None)
        if callable(counter):
            total += int(counter(inputs, output))

    handles = [m.register_forward_hook(hook) for m in meta_model.modules()]
    try:
        with torch.no_grad():
            meta_model(torch.zeros(tuple(input_shape), device="meta"))
    finally:
        for h in handles:
            h.remove()
    return total


def count_params(model: nn.Module) -> int:
    """Number of parameters (``sum(p.numel())``; every tensor counted once, trainable or not)."""
    return sum(p.numel() for p in model.parameters())


__all__ = ["count_macs", "count_params"]

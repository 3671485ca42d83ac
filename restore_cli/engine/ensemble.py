"""The x8 geometric self-ensemble ("TTA"): run a model on the 8 flips/transposes and average back.

The order and the inverses follow BasicSR's ``SRModel.test_selfensemble`` (an EDSR port): starting
from ``[x]``, the list is doubled by applying flip-W (``v``), then flip-H (``h``), then transpose
(``t``) to every entry, giving ``[x, v, h, hv, t, tv, th, thv]``. Variant ``i`` applies ``v`` if bit 0
of ``i`` is set, then ``h`` if bit 1, then ``t`` if bit 2; its inverse undoes them in reverse order
(``t``, ``h``, ``v``). Note that the official MambaIR test script never runs this (``mambair.md`` §11):
use it for quality, not to reproduce published numbers.

All functions take and return NCHW tensors; the transforms act on the last two axes only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import torch

__all__ = ["NAMES", "Transform", "ensemble", "transforms"]

#: Variant names in BasicSR order (``""`` is the identity).
NAMES: tuple[str, ...] = ("", "v", "h", "hv", "t", "tv", "th", "thv")


class Transform(NamedTuple):
    """A geometric variant: ``inverse(forward(x)) == x`` for every tensor ``x``."""

    forward: Callable[[torch.Tensor], torch.Tensor]
    inverse: Callable[[torch.Tensor], torch.Tensor]


def _forward(index: int, x: torch.Tensor) -> torch.Tensor:
    if index & 1:
        x = x.flip(-1)
    if index & 2:
        x = x.flip(-2)
    if index & 4:
        x = x.transpose(-2, -1)
    return x


def _inverse(index: int, x: torch.Tensor) -> torch.Tensor:
    if index & 4:
        x = x.transpose(-2, -1)
    if index & 2:
        x = x.flip(-2)
    if index & 1:
        x = x.flip(-1)
    return x


def transforms() -> list[Transform]:
    """The 8 (forward, inverse) pairs in BasicSR order; see :data:`NAMES`."""
    return [Transform(partial(_forward, i), partial(_inverse, i)) for i in range(8)]


def ensemble(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, batched: bool = False
) -> torch.Tensor:
    """Average ``inverse(fn(forward(x)))`` over the 8 variants.

    Args:
        fn: the model (or any NCHW -> NCHW function, possibly changing the spatial scale uniformly).
        x: N x C x H x W input.
        batched: run the 4 untransposed variants as one batch and the 4 transposed ones as another
            (2 calls of 4N instead of 8 calls of N): faster on a GPU, 4x the activation memory.

    Returns:
        The mean, in ``fn``'s output dtype; summed in at least float32 so fp16 outputs do not lose
        precision in the average.
    """
    total: torch.Tensor | None = None

    def add(out: torch.Tensor, index: int) -> None:
        nonlocal total
        y = _inverse(index, out)
        y = y.float() if y.dtype in (torch.float16, torch.bfloat16) else y
        total = y.clone() if total is None else total.add_(y)

    out_dtype: torch.dtype | None = None
    if batched:
        n = x.shape[0]
        for group in (range(4), range(4, 8)):
            outs = fn(torch.cat([_forward(i, x) for i in group], dim=0))
            out_dtype = outs.dtype
            for k, i in enumerate(group):
                add(outs[k * n : (k + 1) * n], i)
    else:
        for i in range(8):
            out = fn(_forward(i, x))
            out_dtype = out.dtype
            add(out, i)
    assert total is not None and out_dtype is not None
    return (total / 8).to(out_dtype)

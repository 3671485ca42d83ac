"""Tokens grouped by class in a stable order, and the inverse permutation, behind one function.

MambaIRv2 routes every token to one of T prompt classes and scans the tokens grouped by class, in token
order within a class (the official code's ``torch.sort`` of the class indices; ours is stable, so the order
is deterministic), then puts the outputs back: it needs the permutation (``order[b, p]`` = the token at
sorted position p) and its inverse (``inverse[b, t]`` = the position of token t).

Backends (the reference beside the kernel, as in :mod:`restore_cli.ops.scan`):

- ``"reference"``: :func:`stable_class_order_reference`, PyTorch's stable sort and a scatter: the
  specification. On CUDA the sort is a radix sort of several launches and memsets per call, and the
  scatter one more;
- ``"triton"``: a counting sort in three small launches (:mod:`.triton`): class counts per block of
  tokens, running offsets per class, then each token's position written to both outputs. The classes are
  few (T <= 256), so it is exact integer bookkeeping, with the same result as the stable sort. Its work
  grows with tokens x classes (a one-hot tile per block), the sort's with tokens only, so the kernels
  win on small problems (H100, CUDA-graph GPU time, ``tools/jobs/results/perf18-class-order-ab2.txt``):
  10 against 26 us at 15,360 tokens, 18 against 28 at 61,440 (MambaIRv2 light's 720p canvas, 64
  classes), 38 against 51 at four rows of 49,152; at 128 classes even at 61,440 tokens, 64 against 52 us
  at four rows of 49,152 and 341 against 67 on a whole 1280x720 image. ``"auto"`` takes them up to
  :data:`KERNEL_MAX_WORK` tokens x classes.
"""

from __future__ import annotations

import torch

from ..launch import triton_available


def stable_class_order_reference(classes: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, n) class indices in [0, num_classes) -> (order, inverse), both (B, n) int64.

    ``order`` sorts each row by class, ties in token order; ``inverse`` undoes it
    (``order.gather(1, inverse)`` is ``arange(n)`` in every row).
    """
    # A GPU radix sort makes one pass per key byte: classes that fit a byte sort in one pass (same order).
    key = classes.to(torch.uint8) if num_classes <= 256 else classes
    order = torch.sort(key, dim=-1, stable=True).indices
    positions = torch.arange(order.shape[1], device=order.device).expand_as(order)
    inverse = torch.empty_like(order).scatter_(1, order, positions)
    return order, inverse


#: The most tokens (all rows) x classes (rounded up to a power of two, at least 16) for which ``"auto"``
#: takes the kernels; above it the sort is faster (see the module docstring).
KERNEL_MAX_WORK = 1 << 24


def class_axis(num_classes: int) -> int:
    """The kernels' class axis: ``num_classes`` rounded up to a power of two, at least 16."""
    return max(16, 1 << (num_classes - 1).bit_length())


def kernels_pay(tokens: int, num_classes: int) -> bool:
    """The kernels beat the sort: 1-256 classes, and ``tokens`` (all rows) x :func:`class_axis` within
    :data:`KERNEL_MAX_WORK`."""
    return 1 <= num_classes <= 256 and 0 < tokens * class_axis(num_classes) <= KERNEL_MAX_WORK


def use_triton(classes: torch.Tensor, num_classes: int) -> bool:
    """The kernels apply and pay: CUDA with Triton (:func:`..launch.triton_available`), a (B, n) tensor,
    :func:`kernels_pay`."""
    return classes.is_cuda and triton_available() and classes.dim() == 2 and kernels_pay(classes.numel(), num_classes)


def stable_class_order(classes: torch.Tensor, num_classes: int, *,
                       backend: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`stable_class_order_reference`'s result, by the kernels where :func:`use_triton` holds
    (``backend="auto"``), or as asked (``"triton"``, ``"reference"``)."""
    if backend not in ("auto", "triton", "reference"):
        raise ValueError(f"unknown class-order backend {backend!r}; choose auto, triton or reference")
    if not (backend == "triton" or (backend == "auto" and use_triton(classes, num_classes))):
        return stable_class_order_reference(classes, num_classes)
    if torch.compiler.is_compiling():  # one opaque node in a compiled region
        return stable_class_order_op(classes, num_classes)
    from .triton import stable_class_order_triton

    return stable_class_order_triton(classes, num_classes)


def route_classes(logits: torch.Tensor, *, backend: str = "auto") -> torch.Tensor:
    """(..., T) route logits -> (...) int64 class of each token: the argmax, the first on ties
    (:meth:`torch.Tensor.argmax`), by one Triton pass on CUDA inference (``"auto"``, not compiled).

    MambaIRv2's argmax routing takes the argmax of the route's *log-probabilities*; LogSoftmax subtracts the
    same number from every logit of a token, so the argmax of the logits is the same class without the
    float32 copy, the LogSoftmax and PyTorch's reduction over 64 classes, three passes that took 2.9 of
    MambaIRv2 Base's 77 ms of GPU time at 180x320 (``tools/jobs/results/perf32d-profiles-v2.txt``). (In
    float32 that subtraction can round two logits closer than an ulp of the subtrahend to the same value,
    where LogSoftmax's argmax takes the first and this the larger; logits from bf16 GEMMs cannot be that
    close.)"""
    if backend not in ("auto", "reference"):
        raise ValueError(f"unknown route-class backend {backend!r}; choose auto or reference")
    if (backend == "auto" and logits.is_cuda and triton_available() and not torch.is_grad_enabled()
            and 0 < logits.shape[-1] <= 1024 and logits.numel() > 0 and not torch.compiler.is_compiling()):
        from .triton import route_classes_triton

        return route_classes_triton(logits)
    return logits.argmax(-1)


@torch.library.custom_op("restore::stable_class_order", mutates_args=())
def stable_class_order_op(classes: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernels as one operator for ``torch.compile``."""
    from .triton import stable_class_order_triton

    return stable_class_order_triton(classes, num_classes)


@stable_class_order_op.register_fake
def _(classes, num_classes):
    shape = classes.shape
    return classes.new_empty(shape, dtype=torch.int64), classes.new_empty(shape, dtype=torch.int64)


__all__ = ["KERNEL_MAX_WORK", "class_axis", "kernels_pay", "route_classes", "stable_class_order",
           "stable_class_order_reference", "use_triton"]

"""Rows of a tensor picked by index, optionally added to another, behind one function.

MambaIRv2's attentive scan reads its tokens grouped by routed class (``order``, from
:mod:`..class_order`) and adds each token's route prompt, a row of a small (T, N) dictionary picked by the
token's class, to the scan's C. In PyTorch that is a ``gather`` of the tokens with an expanded index
(cuBLAS-unaligned rows fall to PyTorch's element-by-element gather), an indexing of the dictionary, a cast
and an add: three passes for the prompt alone. Here each is one pass.

Backends (the reference beside the kernel, as in :mod:`restore_cli.ops.scan`):

- ``"reference"``: :func:`gather_rows_reference`, PyTorch's indexing: the specification, on the CPU, with
  autograd, and inside compiled regions (where the compiler fuses the same ops itself);
- ``"triton"``: one Triton kernel (:mod:`.triton`) for CUDA inference.
"""

from __future__ import annotations

import torch

from ..launch import triton_available


def gather_rows_reference(source: torch.Tensor, rows: torch.Tensor, *,
                          addend: torch.Tensor | None = None) -> torch.Tensor:
    """``out[b, i] = source[b, rows[b, i]]`` for ``source`` (B, n, C), or ``source[rows[b, i]]`` for a table
    ``source`` (T, C) shared by the images; ``rows`` (B, m) integers. With ``addend`` (B, m, C), any float
    dtype and row stride, the sum in float32 (``out`` float32); else ``source``'s dtype."""
    if source.dim() == 2:
        picked = source[rows]
    else:
        picked = source.gather(1, rows[..., None].expand(*rows.shape, source.shape[-1]))
    if addend is None:
        return picked
    return addend.float() + picked.float()


def use_triton(source: torch.Tensor) -> bool:
    """The kernel applies: CUDA with Triton, no autograd, not being compiled, rows of at most 4096 values."""
    return (source.is_cuda and triton_available() and not torch.is_grad_enabled() and source.numel() > 0
            and source.shape[-1] <= 4096 and not torch.compiler.is_compiling())


def gather_rows(source: torch.Tensor, rows: torch.Tensor, *, addend: torch.Tensor | None = None,
                backend: str = "auto") -> torch.Tensor:
    """:func:`gather_rows_reference`'s result; ``backend``: ``auto`` (Triton where :func:`use_triton`) or
    ``reference``."""
    if backend not in ("auto", "reference"):
        raise ValueError(f"unknown gather backend {backend!r}; choose auto or reference")
    if source.dim() not in (2, 3) or rows.dim() != 2 or (source.dim() == 3 and source.shape[0] != rows.shape[0]):
        raise ValueError(f"cannot pick rows {tuple(rows.shape)} of a source {tuple(source.shape)}")
    if addend is not None and addend.shape != (*rows.shape, source.shape[-1]):
        raise ValueError(f"an addend {tuple(addend.shape)} does not match the picked rows")
    if backend == "auto" and use_triton(source):
        from .triton import gather_rows_triton

        return gather_rows_triton(source, rows, addend=addend)
    return gather_rows_reference(source, rows, addend=addend)


__all__ = ["gather_rows", "gather_rows_reference", "use_triton"]

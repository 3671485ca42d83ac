"""A residual update, ``x · scale + (branch + bias) · gate (+ extra)``, behind one function, with the backend chosen
per call; and the same update followed by the LayerNorm that reads it next (:func:`scaled_residual_and_norm`).

MambaIR's blocks keep their residual stream in float32 and add each branch (bf16 under autocast, its rows
zero-padded wider than the stream) with a learnt per-channel scale on the skip path, the CAB's branch also
times its channel attention; MambaIRv2's layers and both models' residual groups add bf16 branches without
a scale. In PyTorch that is one ``addcmul`` (or add) per update, ``mul_`` then ``addcmul_`` for the CAB's,
and an ``addcmul`` of bf16 and float32 operands runs PyTorch's element-by-element casting loop: colour DN
at 1280x720 on an H100, 0.91 ms a call for a pass that moves 1.7 GB (60 ms of a 778 ms eager forward, the
``mul_`` 20 ms more; ``tools/jobs/results/perf29h-profile-dn-eager.txt``).

MambaIRv2's layers end each half with ``x + branch + shortcut · scale``: the ``extra`` stream. Its
token-routed branch comes back in the sorted order of the scan; ``branch_rows`` reads it in place
instead of a gather pass putting it back first.

The branch's bias is the CAB's second convolution's, left out of cuDNN's call (which would add it in a
pass of its own). In MambaIR's blocks a LayerNorm reads each updated stream at once; the norm variant
writes its padded rows from the values it has just computed, so the stream is not read back (colour DN at
1280x720: 712 -> 682 ms with the biases, ``perf30b-ab.txt``).

Backends (the reference beside the kernel, as in :mod:`restore_cli.ops.scan`):

- ``"reference"``: those PyTorch ops (:func:`scaled_residual_reference`), on the CPU, with autograd, and
  inside compiled regions, where the compiler fuses them itself;
- ``"triton"``: one pass per update, with or without the LayerNorm (:mod:`.triton`), for CUDA inference.
"""

from __future__ import annotations

import torch

from ..launch import triton_available
from ..layer_norm import layer_norm_padded_reference


def scaled_residual_reference(x: torch.Tensor, scale: torch.Tensor | None, branch: torch.Tensor,
                              gate: torch.Tensor | None = None, *, branch_bias: torch.Tensor | None = None,
                              branch_rows: torch.Tensor | None = None, extra: torch.Tensor | None = None,
                              out: torch.Tensor | None = None) -> torch.Tensor:
    """``x · scale + (branch[..., :C] + branch_bias) · gate + extra`` for ``x`` (B, ..., C) float32,
    ``scale`` (C,) or None (ones), ``branch`` (B, ..., C') with C' >= C in any float dtype, ``branch_bias``
    (C'' >= C) or None (zeros: a convolution's bias left for this pass to add), ``gate`` (B, C'') with
    C'' >= C or None (ones), ``branch_rows`` (B, n) for ``x`` (B, n, C) or None: the branch's row for
    each of an image's rows (``branch[b, branch_rows[b, i]]`` is added to ``x[b, i]``), ``extra`` float32
    like ``x`` or None (zeros); written into ``out`` where given (it may be ``x`` itself, or ``extra``),
    else into a new tensor."""
    c = x.shape[-1]
    if branch_rows is not None:
        branch = branch.gather(1, branch_rows[..., None].expand(*branch_rows.shape, branch.shape[-1]))
    branch = branch[..., :c]
    if branch_bias is not None:  # in float32, as the kernel adds it
        branch = branch.float() + branch_bias[:c].float()
    if gate is None:
        if scale is None:
            updated = torch.add(x, branch, out=out if extra is None else None)
        else:
            updated = torch.addcmul(branch, x, scale, out=out if extra is None else None)
    else:
        if scale is None:
            scaled = x.clone() if out is None else out if out is x else out.copy_(x)
        elif out is None:
            scaled = x * scale
        elif out is x:
            scaled = out.mul_(scale)
        else:
            scaled = torch.mul(x, scale, out=out)
        gate = gate[:, :c].reshape(gate.shape[0], *([1] * (x.dim() - 2)), c)
        updated = scaled.addcmul_(branch, gate)
    if extra is None:
        return updated
    return torch.add(updated, extra, out=out)


def scaled_residual_and_norm_reference(
        x: torch.Tensor, scale: torch.Tensor | None, branch: torch.Tensor, gate: torch.Tensor | None = None, *,
        norm_weight: torch.Tensor, norm_bias: torch.Tensor | None, eps: float, width: int, dtype: torch.dtype,
        ones_column: int | None = None, branch_bias: torch.Tensor | None = None,
        branch_rows: torch.Tensor | None = None, extra: torch.Tensor | None = None,
        out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(:func:`scaled_residual_reference`'s new stream, the LayerNorm of its first C' = ``len(norm_weight)``
    channels as rows of ``width`` columns in ``dtype`` (:func:`..layer_norm.layer_norm_padded_reference`,
    ``ones_column`` included)). C' < C: an aligned stream whose channels past C' are zero padding."""
    x = scaled_residual_reference(x, scale, branch, gate, branch_bias=branch_bias, branch_rows=branch_rows,
                                  extra=extra, out=out)
    real = norm_weight.shape[0]
    normed = layer_norm_padded_reference(x[..., :real], norm_weight, norm_bias, eps, width, ones_column=ones_column)
    return x, normed.to(dtype)


def use_triton(x: torch.Tensor, out: torch.Tensor | None = None) -> bool:
    """The Triton kernel applies: CUDA with Triton, no autograd, a contiguous float32 stream (and ``out``),
    not being compiled. (MambaIRUNet's blocks see strided streams: they keep the PyTorch ops.)"""
    return (x.is_cuda and triton_available() and not torch.is_grad_enabled() and x.dtype == torch.float32
            and x.numel() > 0 and x.is_contiguous() and (out is None or out.is_contiguous())
            and not torch.compiler.is_compiling())


def _check_backend(backend: str) -> None:
    if backend not in ("auto", "reference"):
        raise ValueError(f"unknown residual backend {backend!r}; choose auto or reference")


def scaled_residual(x: torch.Tensor, scale: torch.Tensor | None, branch: torch.Tensor,
                    gate: torch.Tensor | None = None, *, branch_bias: torch.Tensor | None = None,
                    branch_rows: torch.Tensor | None = None, extra: torch.Tensor | None = None,
                    out: torch.Tensor | None = None, backend: str = "auto") -> torch.Tensor:
    """``x · scale + (branch[..., :C] + branch_bias) · gate + extra`` (see :func:`scaled_residual_reference`);
    ``backend``: ``auto`` (Triton where :func:`use_triton`) or ``reference``."""
    _check_backend(backend)
    kwargs = dict(branch_bias=branch_bias, branch_rows=branch_rows, extra=extra, out=out)
    if backend == "auto" and use_triton(x, out) and (extra is None or extra.is_contiguous()):
        from .triton import scaled_residual_triton

        return scaled_residual_triton(x, scale, branch, gate, **kwargs)
    return scaled_residual_reference(x, scale, branch, gate, **kwargs)


def scaled_residual_and_norm(
        x: torch.Tensor, scale: torch.Tensor | None, branch: torch.Tensor, gate: torch.Tensor | None = None, *,
        norm_weight: torch.Tensor, norm_bias: torch.Tensor | None, eps: float, width: int, dtype: torch.dtype,
        ones_column: int | None = None, branch_bias: torch.Tensor | None = None,
        branch_rows: torch.Tensor | None = None, extra: torch.Tensor | None = None, out: torch.Tensor | None = None,
        backend: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """The residual update and the LayerNorm that reads it next (see
    :func:`scaled_residual_and_norm_reference`), by one Triton pass where :func:`use_triton`: the stream is
    normalised from the registers that store it instead of being read back (colour DN at 1280x720: 663 MB a
    block, about 0.2 ms on an H100)."""
    _check_backend(backend)
    kwargs = dict(norm_weight=norm_weight, norm_bias=norm_bias, eps=eps, width=width, dtype=dtype,
                  ones_column=ones_column, branch_bias=branch_bias, branch_rows=branch_rows, extra=extra, out=out)
    if (backend == "auto" and use_triton(x, out) and norm_weight.dtype == torch.float32
            and (extra is None or extra.is_contiguous())):
        from .triton import scaled_residual_and_norm_triton

        return scaled_residual_and_norm_triton(x, scale, branch, gate, **kwargs)
    return scaled_residual_and_norm_reference(x, scale, branch, gate, **kwargs)


__all__ = ["scaled_residual", "scaled_residual_and_norm", "scaled_residual_and_norm_reference",
           "scaled_residual_reference", "use_triton"]

"""Selective scan behind one function, with the backend chosen per call.

Backends:
- ``"reference"``: the per-step float32 recurrence (the spec; slow).
- ``"torch"``: the chunked pure-PyTorch scan, used on the CPU and as the GPU fallback.
- ``"triton"``: our Triton kernel (CUDA only; Triton ships with PyTorch's CUDA builds).
- ``"mamba"``: mamba-ssm's CUDA kernel, when that optional package imports and tensors are on a GPU.

``select_backend`` is a pure function, so the choice is testable on a machine without a GPU.
"""

from __future__ import annotations

import torch

from ...errors import BackendUnavailableError
from ..launch import triton_available
from .reference import selective_scan_reference

BACKENDS = ("auto", "torch", "triton", "mamba", "reference")


_mamba_available: bool | None = None


@torch.compiler.assume_constant_result
def mamba_available() -> bool:
    """True when mamba-ssm's compiled selective scan imports (any failure means 'no'). Answered once per
    process, and a constant to ``torch.compile``: traced, the failing import split every compiled MambaIR
    block into three graphs (before the scan's block, inside it, after it), each boundary a float32 round
    trip through memory and its own casts (``tools/jobs/graph_breaks.py``)."""
    global _mamba_available
    if _mamba_available is None:
        try:
            from mamba_ssm.ops.selective_scan_interface import selective_scan_fn  # noqa: F401

            _mamba_available = True
        except Exception:
            _mamba_available = False
    return _mamba_available


def select_backend(
    device_type: str,
    requested: str = "auto",
    *,
    has_mamba: bool = False,
    has_triton: bool = False,
) -> tuple[str, str]:
    """Choose the scan backend for tensors on ``device_type``; return ``(name, reason)``.

    ``auto`` prefers our Triton kernel on CUDA, then mamba-ssm, then the chunked PyTorch scan.
    An explicitly requested backend that cannot run raises :class:`BackendUnavailableError`.
    """
    if requested not in BACKENDS:
        raise BackendUnavailableError(f"unknown scan backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    on_cuda = device_type == "cuda"
    if requested == "auto":
        if on_cuda and has_triton:
            return "triton", "CUDA tensors and Triton available"
        if on_cuda and has_mamba:
            return "mamba", "CUDA tensors and mamba-ssm installed"
        return "torch", "chunked PyTorch scan (no GPU kernel applies)"
    if requested in ("triton", "mamba") and not on_cuda:
        raise BackendUnavailableError(
            f"the {requested} scan backend needs CUDA tensors; use --device cuda or backend 'torch'"
        )
    if requested == "triton" and not has_triton:
        raise BackendUnavailableError("the triton scan backend needs Triton (shipped with PyTorch's CUDA builds)")
    if requested == "mamba" and not has_mamba:
        raise BackendUnavailableError("the mamba scan backend needs mamba-ssm: pip install 'restore-cli[mamba]'")
    return requested, "requested"


def backend_for(t: torch.Tensor, requested: str = "auto") -> str:
    """The backend :func:`select_backend` picks for tensors on ``t``'s device, given what is installed."""
    on_cuda = t.device.type == "cuda"
    name, _ = select_backend(
        t.device.type,
        requested,
        has_mamba=on_cuda and mamba_available(),
        has_triton=on_cuda and triton_available(),
    )
    return name


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    z: torch.Tensor | None = None,
    backend: str = "auto",
) -> torch.Tensor:
    """Selective scan with mamba-ssm's semantics (see :mod:`.reference`).

    Args:
        u, delta: (batch, dim, L).
        A: (dim, N).
        B, C: (batch, N, L) or grouped (batch, G, N, L); channel ``c`` uses group ``c // (dim // G)``.
        D, delta_bias: (dim,) or None.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        z: optional gate, output multiplied by ``silu(z)``.
        backend: ``auto``, ``torch``, ``triton``, ``mamba`` or ``reference``.

    Returns:
        (batch, dim, L) in ``u``'s dtype; the state is always accumulated in float32.

    When autograd records and an input requires grad, the ``torch`` and ``triton`` backends run through
    :class:`.autograd.SelectiveScanFn` (same forward, analytic chunked backward); ``reference`` and
    ``mamba`` backpropagate on their own.
    """
    args = (u, delta, A, B, C, D, delta_bias, delta_softplus)
    needs_grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (u, delta, A, B, C, D, delta_bias, z)
    )
    if torch.compiler.is_compiling() and not needs_grad:  # inference in a compiled region: one opaque node
        from .opaque import selective_scan_op

        return selective_scan_op(*args, z, backend)
    name = backend_for(u, backend)
    if name in ("torch", "triton") and needs_grad:  # training: the same forward, with the analytic backward
        from .autograd import selective_scan_fn

        return selective_scan_fn(*args, z=z, backend=name)
    if name == "reference":
        return selective_scan_reference(*args, z=z)
    if name == "mamba":
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn

        def as_kernel_bc(t: torch.Tensor) -> torch.Tensor:
            return t.to(u.dtype).contiguous()

        return selective_scan_fn(
            u.contiguous(), delta.to(u.dtype).contiguous(), A.float().contiguous(), as_kernel_bc(B),
            as_kernel_bc(C), None if D is None else D.float(), z=z, delta_bias=None if delta_bias is None
            else delta_bias.float(), delta_softplus=delta_softplus,
        )
    if name == "triton":
        from .triton import selective_scan_triton

        return selective_scan_triton(*args, z=z)
    from .torch_chunked import selective_scan_chunked

    return selective_scan_chunked(*args, z=z)


def selective_scan_tokens(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    backend: str = "auto",
) -> torch.Tensor:
    """Inference scan of channel-last operands: :func:`selective_scan` with the time and channel axes swapped.

    Args:
        u, delta: (batch, L, dim).
        B, C: (batch, L, N).
        A, D, delta_bias, delta_softplus, backend: as :func:`selective_scan`.

    Returns:
        (batch, L, dim) in ``u``'s dtype. On CUDA with Triton nothing is copied: the kernel reads and
        writes tokens in place (:func:`.triton.selective_scan_tokens_triton`); other backends scan the
        transposed views.
    """
    if torch.compiler.is_compiling():  # one opaque node in a compiled region
        from .opaque import selective_scan_tokens_op

        return selective_scan_tokens_op(u, delta, A, B, C, D, delta_bias, delta_softplus, backend)
    name = backend_for(u, backend)
    if name == "triton" and not torch.is_grad_enabled():
        from .triton import selective_scan_tokens_triton

        return selective_scan_tokens_triton(u, delta, A, B, C, D, delta_bias, delta_softplus)
    y = selective_scan(u.transpose(1, 2), delta.transpose(1, 2), A, B.transpose(1, 2), C.transpose(1, 2), D,
                       delta_bias, delta_softplus, backend=name)
    return y.transpose(1, 2)


__all__ = ["BACKENDS", "backend_for", "select_backend", "selective_scan", "selective_scan_reference",
           "selective_scan_tokens"]

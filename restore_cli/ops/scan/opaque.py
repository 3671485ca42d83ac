"""The scans as PyTorch custom operators, so ``torch.compile`` treats each as one opaque call.

Why: a compiled region (:mod:`restore_cli.engine.compile`) should fuse the elementwise glue around the
scan (norms, gates, residuals) while the scan itself stays our kernel. Traced directly, the Triton launch
code and the chunked CPU scan's Python loops would either break the graph or be unrolled into it. As a
custom operator with a shape-only "fake" implementation, the scan is a single node whose output shape,
dtype and (contiguous) layout the compiler knows without running it.

Only the inference entry points go through here, and only while compiling
(:func:`torch.compiler.is_compiling`); eager calls and training use the functions directly.
"""

from __future__ import annotations

import torch

_NAMESPACE = "restore"


@torch.library.custom_op(f"{_NAMESPACE}::cross_scan_tokens", mutates_args=())
def cross_scan_tokens_op(
    tokens: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
    D: torch.Tensor | None, delta_bias: torch.Tensor | None, delta_softplus: bool, height: int, width: int,
    backend: str, delta_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`.cross.cross_selective_scan_tokens` as one operator; (batch, H·W, E) float32, contiguous."""
    from .cross import cross_selective_scan_tokens

    y = cross_selective_scan_tokens(tokens, delta, A, B, C, D, delta_bias, delta_softplus, height=height,
                                    width=width, backend=backend, delta_weight=delta_weight)
    return y.contiguous()


@cross_scan_tokens_op.register_fake
def _(tokens, delta, A, B, C, D, delta_bias, delta_softplus, height, width, backend, delta_weight=None):
    return tokens.new_empty(tokens.shape, dtype=torch.float32)


@torch.library.custom_op(f"{_NAMESPACE}::selective_scan", mutates_args=())
def selective_scan_op(
    u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
    D: torch.Tensor | None, delta_bias: torch.Tensor | None, delta_softplus: bool, z: torch.Tensor | None,
    backend: str,
) -> torch.Tensor:
    """:func:`restore_cli.ops.scan.selective_scan` (inference) as one operator; contiguous, ``u``'s dtype."""
    from . import selective_scan

    return selective_scan(u, delta, A, B, C, D, delta_bias, delta_softplus, z=z, backend=backend).contiguous()


@selective_scan_op.register_fake
def _(u, delta, A, B, C, D, delta_bias, delta_softplus, z, backend):
    return u.new_empty(u.shape)


@torch.library.custom_op(f"{_NAMESPACE}::selective_scan_tokens", mutates_args=())
def selective_scan_tokens_op(
    u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
    D: torch.Tensor | None, delta_bias: torch.Tensor | None, delta_softplus: bool, backend: str,
) -> torch.Tensor:
    """:func:`restore_cli.ops.scan.selective_scan_tokens` as one operator; (batch, L, dim) contiguous."""
    from . import selective_scan_tokens

    return selective_scan_tokens(u, delta, A, B, C, D, delta_bias, delta_softplus, backend=backend).contiguous()


@selective_scan_tokens_op.register_fake
def _(u, delta, A, B, C, D, delta_bias, delta_softplus, backend):
    return u.new_empty(u.shape)


__all__ = ["cross_scan_tokens_op", "selective_scan_op", "selective_scan_tokens_op"]

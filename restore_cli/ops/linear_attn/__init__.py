"""Non-causal linear attention behind one function, with the backend chosen per call.

Backends (same layout as :mod:`restore_cli.ops.scan`: each implementation has the reference beside it):

- ``"reference"``: the plain float32 formula (:mod:`.reference`), the specification.
- ``"torch"``: token-chunked PyTorch with float32 accumulators (:mod:`.torch_chunked`); the default on
  every device, since a d × dv state per head makes the operation two small GEMMs that cuBLAS already
  runs well. A fused GPU kernel can be added here later without touching the models.

``select_backend`` is a pure function, so the choice is testable on a machine without a GPU.
:mod:`.cost` counts multiply-accumulates (MACs) for whole models, this operation included.
"""

from __future__ import annotations

import torch

from ...errors import BackendUnavailableError
from .reference import FEATURE_MAPS, feature_map, linear_attention_reference
from .torch_chunked import DEFAULT_CHUNK, linear_attention_chunked

BACKENDS = ("auto", "torch", "reference")


def select_backend(device_type: str, requested: str = "auto") -> tuple[str, str]:
    """Choose the linear-attention backend for tensors on ``device_type``; return ``(name, reason)``.

    Raises:
        BackendUnavailableError: ``requested`` is not a known backend.
    """
    if requested not in BACKENDS:
        raise BackendUnavailableError(
            f"unknown linear-attention backend {requested!r}; choose one of {', '.join(BACKENDS)}"
        )
    if requested == "auto":
        return "torch", f"chunked PyTorch with float32 accumulators on {device_type}"
    return requested, "requested"


def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    feature_map: str = "elu",
    eps: float = 1e-6,
    backend: str = "auto",
    chunk_size: int = DEFAULT_CHUNK,
) -> torch.Tensor:
    """Normalised non-causal linear attention ``φ(Q) (φ(K)ᵀ V) / (φ(Q) φ(K)ᵀ 1 + eps)`` (means over tokens).

    Cost is O(N·d·dv) per head: ``φ(K)ᵀ V`` (d × dv) is formed first, then multiplied by ``φ(Q)``;
    the N × N attention matrix is never built. Sums are accumulated in float32 even under autocast.

    Args:
        q, k: (batch, heads, N, d).
        v: (batch, heads, N, dv).
        feature_map: ``elu`` (ELU + 1, strictly positive) or ``relu``.
        eps: added to the normaliser (see :mod:`.reference` for where the 1/N goes).
        backend: ``auto``, ``torch`` or ``reference``.
        chunk_size: tokens per chunk for the ``torch`` backend.

    Returns:
        (batch, heads, N, dv) in ``v``'s dtype.

    Raises:
        ValueError: shapes do not agree, or the feature map is unknown.
        BackendUnavailableError: unknown backend.
    """
    if q.dim() != 4 or k.shape != q.shape or v.dim() != 4 or v.shape[:-1] != k.shape[:-1]:
        raise ValueError(
            "linear_attention expects q, k of shape (batch, heads, N, d) and v of shape (batch, heads, N, dv); "
            f"got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if feature_map not in FEATURE_MAPS:
        raise ValueError(f"unknown feature map {feature_map!r}; choose one of {', '.join(FEATURE_MAPS)}")
    name, _ = select_backend(q.device.type, backend)
    if name == "reference":
        return linear_attention_reference(q, k, v, feature_map_name=feature_map, eps=eps)
    return linear_attention_chunked(q, k, v, feature_map_name=feature_map, eps=eps, chunk_size=chunk_size)


def linear_attention_macs(batch: int, heads: int, tokens: int, d: int, dv: int) -> int:
    """Multiply-accumulates of one :func:`linear_attention` call: φ(K)ᵀV, φ(Q)S and the normaliser.

    ``2·N·d·dv + 2·N·d`` per (batch, head); feature maps and the division are not counted (elementwise,
    like activations in conventional FLOP counters).
    """
    return batch * heads * tokens * (2 * d * dv + 2 * d)


__all__ = [
    "BACKENDS",
    "FEATURE_MAPS",
    "feature_map",
    "linear_attention",
    "linear_attention_chunked",
    "linear_attention_macs",
    "linear_attention_reference",
    "select_backend",
]

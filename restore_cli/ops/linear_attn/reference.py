"""Non-causal linear attention as the plain float32 formula: the specification every backend must match.

For one batch element and head, with queries ``q_i``, keys ``k_j``, values ``v_j`` (i, j = 1..N) and a
positive feature map φ::

    O_i = φ(q_i)ᵀ S / (φ(q_i)ᵀ z + eps),   S = (1/N) Σ_j φ(k_j) v_jᵀ  (d × dv),   z = (1/N) Σ_j φ(k_j)  (d)

This is the normalised form used by MLLA (LeapLabTHU/MLLA) and RALA (qhfan/RALA): the 1/N in both S and
z cancels except against ``eps``, and keeps the sums in a range that survives fp16/bf16 callers. The cost is
O(N·d·dv) per head; no N × N matrix is ever formed. With ``eps = 0`` the output is a convex combination of
the values, so ``|O_i| <= max_j |v_j|`` element-wise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FEATURE_MAPS = ("elu", "relu")


def feature_map(x: torch.Tensor, name: str) -> torch.Tensor:
    """Apply the positive kernel feature map ``name``: ``elu`` = ELU(x) + 1 (> 0), ``relu`` = max(x, 0)."""
    if name == "elu":
        return F.elu(x) + 1.0
    if name == "relu":
        return F.relu(x)
    raise ValueError(f"unknown feature map {name!r}; choose one of {', '.join(FEATURE_MAPS)}")


def linear_attention_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    feature_map_name: str = "elu",
    eps: float = 1e-6,
) -> torch.Tensor:
    """Normalised non-causal linear attention, everything in float32.

    Args:
        q, k: (batch, heads, N, d).
        v: (batch, heads, N, dv).
        feature_map_name: ``elu`` (ELU + 1) or ``relu``.
        eps: added to the normaliser; keeps a query whose features are all zero (ReLU) finite.

    Returns:
        (batch, heads, N, dv) in ``v``'s dtype.
    """
    phi_q = feature_map(q.float(), feature_map_name)
    phi_k = feature_map(k.float(), feature_map_name)
    n = k.shape[-2]
    s = torch.einsum("bhnd,bhne->bhde", phi_k, v.float()) / n
    z = phi_k.sum(dim=-2) / n
    num = torch.einsum("bhnd,bhde->bhne", phi_q, s)
    den = torch.einsum("bhnd,bhd->bhn", phi_q, z)[..., None]
    return (num / (den + eps)).to(v.dtype)


__all__ = ["FEATURE_MAPS", "feature_map", "linear_attention_reference"]

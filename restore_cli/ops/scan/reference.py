"""The selective scan (S6) as a plain float32 recurrence: the specification every backend must match.

Semantics follow mamba-ssm's ``selective_scan_ref`` (state-spaces/mamba, Apache-2.0), which is what the
official MambaIR models call. It is one Python step per token, so it is only for tests and tiny inputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def expand_groups(BC: torch.Tensor, dim: int) -> torch.Tensor:
    """Return B or C as (batch, dim, N, L): channel ``c`` uses group ``c // (dim // G)``."""
    if BC.dim() == 3:  # (batch, N, L): one group shared by all channels
        return BC[:, None].expand(BC.shape[0], dim, BC.shape[1], BC.shape[2])
    groups = BC.shape[1]
    if dim % groups:
        raise ValueError(f"dim {dim} is not divisible by the number of groups {groups}")
    return BC.repeat_interleave(dim // groups, dim=1)


def selective_scan_reference(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    z: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-step selective scan.

    Args:
        u, delta: (batch, dim, L).
        A: (dim, N), real.
        B, C: (batch, N, L) or grouped (batch, G, N, L).
        D, delta_bias: (dim,) or None.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        z: optional (batch, dim, L) gate; the output is multiplied by ``silu(z)``.

    Returns:
        (batch, dim, L) in ``u``'s dtype, computed in float32.
    """
    dtype_in = u.dtype
    u = u.float()
    dt = delta.float()
    if delta_bias is not None:
        dt = dt + delta_bias.float()[:, None]
    if delta_softplus:
        dt = F.softplus(dt)
    batch, dim, length = u.shape
    A = A.float()
    Bx = expand_groups(B.float(), dim)
    Cx = expand_groups(C.float(), dim)
    h = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(length):
        h = torch.exp(dt[:, :, t, None] * A) * h + (dt[:, :, t] * u[:, :, t])[..., None] * Bx[..., t]
        ys.append((h * Cx[..., t]).sum(-1))
    y = torch.stack(ys, dim=-1) if ys else u.new_zeros(batch, dim, 0)
    if D is not None:
        y = y + u * D.float()[:, None]
    if z is not None:
        y = y * F.silu(z.float())
    return y.to(dtype_in)

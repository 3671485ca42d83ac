"""Linear attention in plain PyTorch, chunked over tokens, with float32 accumulators.

Same result as :mod:`.reference` (up to float rounding), but built for large images under fp16/bf16:

- autocast is switched off inside, so the d × dv state ``S`` and the normaliser ``z`` are summed in
  float32 whatever the caller's autocast setting (N reaches millions of tokens at 2048² px);
- tokens are processed ``chunk_size`` at a time, so the float32 copies of φ(q), φ(k) and v that the
  computation needs exist for one chunk only, not for the whole image (bounded extra memory);
- the output is cast back to ``v``'s dtype chunk by chunk.

Peak extra memory is O(chunk·(d + dv) + d·dv) per (batch, head), never O(N²).
"""

from __future__ import annotations

import contextlib

import torch

from .reference import feature_map

DEFAULT_CHUNK = 1 << 16


def no_autocast(device_type: str) -> contextlib.AbstractContextManager:
    """Autocast switched off for ``device_type``; a no-op for devices without autocast (``meta``)."""
    if device_type in ("cuda", "cpu", "xpu", "mps", "hpu"):
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()


def linear_attention_chunked(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    feature_map_name: str = "elu",
    eps: float = 1e-6,
    chunk_size: int = DEFAULT_CHUNK,
) -> torch.Tensor:
    """Normalised non-causal linear attention (see :mod:`.reference`), token-chunked.

    Args:
        q, k: (batch, heads, N, d); any strides (views of channel-first or channel-last maps are fine).
        v: (batch, heads, N, dv).
        feature_map_name: ``elu`` (ELU + 1) or ``relu``.
        eps: added to the normaliser.
        chunk_size: tokens per chunk; the whole sequence in one step when N <= chunk_size.

    Returns:
        (batch, heads, N, dv) in ``v``'s dtype.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    n = k.shape[-2]
    out_dtype = v.dtype
    with no_autocast(q.device.type):
        if n <= chunk_size:
            phi_k = feature_map(k.float(), feature_map_name)
            s = phi_k.transpose(-2, -1) @ v.float()
            z = phi_k.sum(dim=-2, keepdim=True).transpose(-2, -1)
        else:
            s = q.new_zeros((*k.shape[:-2], k.shape[-1], v.shape[-1]), dtype=torch.float32)
            z = q.new_zeros((*k.shape[:-2], k.shape[-1], 1), dtype=torch.float32)
            for start in range(0, n, chunk_size):
                phi_k = feature_map(k[..., start:start + chunk_size, :].float(), feature_map_name)
                s = s + phi_k.transpose(-2, -1) @ v[..., start:start + chunk_size, :].float()
                z = z + phi_k.sum(dim=-2, keepdim=True).transpose(-2, -1)
        # [S | z] / N: one GEMM per chunk gives numerator and normaliser together.
        sz = torch.cat([s, z], dim=-1) / n
        outs = []
        for start in range(0, n, chunk_size):
            phi_q = feature_map(q[..., start:start + chunk_size, :].float(), feature_map_name)
            o = phi_q @ sz
            outs.append((o[..., :-1] / (o[..., -1:] + eps)).to(out_dtype))
    return outs[0] if len(outs) == 1 else torch.cat(outs, dim=-2)


__all__ = ["DEFAULT_CHUNK", "linear_attention_chunked"]

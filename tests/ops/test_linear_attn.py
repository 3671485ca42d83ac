"""linear_attention: every backend against the float32 reference, and the reference against the naive
O(N²) formula it must equal; float32 accumulation under low precision; never an N x N intermediate."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from restore_cli.errors import BackendUnavailableError
from restore_cli.ops.linear_attn import (
    BACKENDS,
    feature_map,
    linear_attention,
    linear_attention_chunked,
    linear_attention_macs,
    linear_attention_reference,
    select_backend,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: max_numel
from max_numel import MaxNumel


def naive_quadratic(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, fm: str, eps: float) -> torch.Tensor:
    """Softmax-free attention with the explicit N x N map, in float64: A = φ(Q)φ(K)ᵀ / N, O = AV / (A1 + eps)."""
    pq, pk = feature_map(q.double(), fm), feature_map(k.double(), fm)
    n = k.shape[-2]
    a = pq @ pk.transpose(-2, -1) / n
    return (a @ v.double()) / (a.sum(-1, keepdim=True) + eps)


def rand_qkv(b: int, h: int, n: int, d: int, dv: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(b, h, n, dim, generator=g) for dim in (d, d, dv))


@pytest.mark.parametrize("fm", ["elu", "relu"])
@pytest.mark.parametrize(("b", "h", "n", "d", "dv"), [(1, 1, 1, 4, 4), (2, 3, 37, 8, 8), (1, 2, 200, 16, 12)])
def test_reference_equals_naive_quadratic(fm: str, b: int, h: int, n: int, d: int, dv: int) -> None:
    q, k, v = rand_qkv(b, h, n, d, dv)
    ref = linear_attention_reference(q, k, v, feature_map_name=fm)
    torch.testing.assert_close(ref.double(), naive_quadratic(q, k, v, fm, 1e-6), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "reference"])
@pytest.mark.parametrize("chunk_size", [1 << 16, 64, 7])
@pytest.mark.parametrize("fm", ["elu", "relu"])
def test_backends_match_reference(backend: str, chunk_size: int, fm: str) -> None:
    q, k, v = rand_qkv(2, 2, 150, 8, 8, seed=1)
    out = linear_attention(q, k, v, feature_map=fm, backend=backend, chunk_size=chunk_size)
    ref = linear_attention_reference(q, k, v, feature_map_name=fm)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("channel_first", [False, True])
def test_gradients_match_reference(channel_first: bool) -> None:
    q, k, v = (t.requires_grad_() for t in rand_qkv(1, 2, 50, 8, 8, seed=2))

    def views(t: torch.Tensor) -> torch.Tensor:  # the same values as head views of a channel-first map
        return t.transpose(-2, -1).contiguous().transpose(-2, -1) if channel_first else t

    grads = []
    for fn in (
        lambda: linear_attention_chunked(views(q), views(k), views(v), chunk_size=16),
        lambda: linear_attention_reference(q, k, v),
    ):
        out = fn()
        grads.append(torch.autograd.grad((out * torch.cos(out)).sum(), (q, k, v)))
    for g_fast, g_ref in zip(*grads, strict=True):
        torch.testing.assert_close(g_fast, g_ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("chunk_size", [1 << 16, 8])
def test_strided_views_accepted(chunk_size: int) -> None:
    """Models pass head views of channel-first (B, C, H, W) maps; the result must not depend on strides."""
    x = torch.randn(1, 24, 5, 7)
    q = x.reshape(1, 3, 8, 35).transpose(-2, -1)
    assert not q.is_contiguous()
    qc = q.contiguous()
    out = linear_attention(q, q, q, chunk_size=chunk_size)
    torch.testing.assert_close(out, linear_attention(qc, qc, qc, chunk_size=chunk_size))
    torch.testing.assert_close(out, linear_attention_reference(q, q, q), rtol=1e-5, atol=1e-6)


def test_low_precision_inputs_accumulate_in_float32() -> None:
    q, k, v = rand_qkv(1, 2, 5000, 16, 16, seed=3)
    qb, kb, vb = (t.bfloat16() for t in (q, k, v))
    ref = linear_attention_reference(qb.float(), kb.float(), vb.float())
    for chunk in (1 << 16, 512):
        out = linear_attention(qb, kb, vb, chunk_size=chunk)
        assert out.dtype == torch.bfloat16
        torch.testing.assert_close(out.float(), ref, rtol=2e-2, atol=2e-2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = linear_attention(q, k, v)
    assert out.dtype == torch.float32  # autocast is off inside: float32 inputs give float32 math
    torch.testing.assert_close(out, linear_attention_reference(q, k, v), rtol=1e-5, atol=1e-6)


def test_output_bounded_and_finite_for_large_n() -> None:
    """With a positive kernel the output is a convex combination of values: bounded, no NaN, even at 10^5 tokens."""
    q, k, v = rand_qkv(1, 1, 100_000, 8, 4, seed=4)
    k = k * 30  # large logits: ELU+1 saturates, ReLU is sparse
    for fm in ("elu", "relu"):
        out = linear_attention(q.half(), k.half(), v.half(), feature_map=fm, chunk_size=8192)
        assert torch.isfinite(out).all()
        assert out.abs().max() <= v.abs().max() * 1.01


def test_relu_all_zero_query_gives_zero_not_nan() -> None:
    q, k, v = rand_qkv(1, 1, 10, 4, 4, seed=5)
    q[..., 3, :] = -1.0  # φ(q) = 0 for that token
    out = linear_attention(q, k, v, feature_map="relu")
    assert torch.isfinite(out).all()
    assert torch.equal(out[0, 0, 3], torch.zeros(4))


@pytest.mark.parametrize("backend", ["torch", "reference"])
def test_no_n_by_n_intermediate(backend: str) -> None:
    n, d = 4096, 16
    q, k, v = rand_qkv(1, 1, n, d, d, seed=6)
    with MaxNumel() as mode:
        linear_attention(q, k, v, backend=backend)
    assert mode.max_numel <= 2 * n * d  # O(N·d); an N x N map would be 256x the N·d size


def test_select_backend_and_errors() -> None:
    assert select_backend("cpu")[0] == "torch"
    assert select_backend("cuda", "reference")[0] == "reference"
    with pytest.raises(BackendUnavailableError, match="choose one of"):
        select_backend("cpu", "flash")
    q = torch.zeros(1, 1, 4, 2)
    with pytest.raises(ValueError, match="batch, heads, N, d"):
        linear_attention(q, q[..., :3, :], q)
    with pytest.raises(ValueError, match="feature map"):
        linear_attention(q, q, q, feature_map="softmax")
    with pytest.raises(ValueError, match="chunk_size"):
        linear_attention(q, q, q, chunk_size=0)


def test_macs_formula_is_linear_in_tokens() -> None:
    assert linear_attention_macs(1, 2, 100, 16, 16) == 2 * 100 * (2 * 16 * 16 + 2 * 16)
    assert linear_attention_macs(1, 2, 400, 16, 16) == 4 * linear_attention_macs(1, 2, 100, 16, 16)

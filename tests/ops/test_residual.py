"""The residual update ``x · scale + branch · gate`` (:mod:`restore_cli.ops.residual`): the reference on the
CPU, the Triton kernel under Triton's interpreter and on a GPU, against the plain formula."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from triton_interpreter import run_in_triton_interpreter

from restore_cli.ops.layer_norm import layer_norm_padded_reference
from restore_cli.ops.residual import (
    scaled_residual,
    scaled_residual_and_norm,
    scaled_residual_and_norm_reference,
    scaled_residual_reference,
)


def _operands(dtype: torch.dtype, device: str = "cpu", gated: bool = True, scaled: bool = True):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 7, 30, generator=gen)
    scale = torch.randn(30, generator=gen) if scaled else None
    branch = torch.randn(2, 5, 7, 32, generator=gen).to(dtype)  # rows zero-padded wider than the stream
    gate = torch.rand(2, 32, generator=gen) if gated else None
    want = x * (scale if scaled else 1) + branch[..., :30].float() * (gate[:, None, None, :30] if gated else 1)
    moved = [t if t is None else t.to(device) for t in (x, scale, branch, gate)]
    return (*moved, want.to(device))


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("gated", [False, True])
def test_reference_is_the_formula_into_a_new_tensor_or_in_place(gated: bool, scaled: bool) -> None:
    x, scale, branch, gate, want = _operands(torch.bfloat16, gated=gated, scaled=scaled)
    kept = x.clone()
    got = scaled_residual_reference(x, scale, branch, gate)
    assert torch.allclose(got, want, atol=1e-6) and torch.equal(x, kept)  # x itself untouched
    into_x = scaled_residual(x, scale, branch, gate, out=x)  # the CPU takes the reference
    assert into_x.data_ptr() == x.data_ptr() and torch.allclose(x, want, atol=1e-6)
    elsewhere = torch.empty_like(kept)
    scaled_residual_reference(kept, scale, branch, gate, out=elsewhere)
    assert torch.allclose(elsewhere, want, atol=1e-6)


def test_branch_bias_is_added_before_the_gate() -> None:
    x, scale, branch, gate, _ = _operands(torch.bfloat16)
    bias = torch.randn(32)
    want = x * scale + (branch[..., :30].float() + bias[:30]) * gate[:, None, None, :30]
    assert torch.allclose(scaled_residual(x, scale, branch, gate, branch_bias=bias), want, atol=1e-5)


def test_the_norm_variant_is_the_update_then_its_padded_layer_norm() -> None:
    """:func:`scaled_residual_and_norm` (the reference on the CPU): the same stream as the update alone,
    and the LayerNorm of that stream as padded rows with a ones column, in the dtype asked."""
    x, scale, branch, gate, want = _operands(torch.bfloat16)
    w, b = torch.randn(30), torch.randn(30)
    kwargs = dict(norm_weight=w, norm_bias=b, eps=1e-5, width=40, dtype=torch.bfloat16, ones_column=33)
    new, normed = scaled_residual_and_norm(x, scale, branch, gate, **kwargs)
    assert torch.allclose(new, want, atol=1e-6) and normed.dtype == torch.bfloat16 and normed.shape[-1] == 40
    expected = layer_norm_padded_reference(new, w, b, 1e-5, 40, ones_column=33).to(torch.bfloat16)
    assert torch.equal(normed, expected)
    assert (normed[..., 33] == 1).all() and not normed[..., 30:33].any()


def test_unknown_backend_is_refused() -> None:
    x, scale, branch, gate, _ = _operands(torch.float32)
    with pytest.raises(ValueError, match="unknown residual backend"):
        scaled_residual(x, scale, branch, gate, backend="cuda")


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_triton_kernel_in_the_interpreter() -> None:
    out = run_in_triton_interpreter("""
import torch
from restore_cli.ops.residual.triton import scaled_residual_triton

gen = torch.Generator().manual_seed(0)
x = torch.randn(2, 35, 30, generator=gen)
scale = torch.randn(30, generator=gen)
branch = torch.randn(2, 35, 40, generator=gen)[..., 3:]  # a strided view: rows of 40, 37 read from 3 on
gate = torch.rand(2, 32, generator=gen)
want = x * scale + branch[..., :30] * gate[:, None, :30]
assert (scaled_residual_triton(x, scale, branch, gate) - want).abs().max().item() < 1e-5
plain = x * scale + branch[..., :30]
assert (scaled_residual_triton(x, None, branch, gate) - (x + branch[..., :30] * gate[:, None, :30])).abs().max() < 1e-5
half = branch.half()
assert (scaled_residual_triton(x, scale, half) - (x * scale + half[..., :30].float())).abs().max().item() < 1e-5
y = x.clone()
assert scaled_residual_triton(y, scale, branch, out=y).data_ptr() == y.data_ptr()
assert (y - plain).abs().max().item() < 1e-5
# the branch's bias, and the LayerNorm of the new stream written as padded rows with a ones column
from restore_cli.ops.residual import scaled_residual_and_norm_reference
from restore_cli.ops.residual.triton import scaled_residual_and_norm_triton
bias, w, b = torch.randn(37, generator=gen), torch.randn(30, generator=gen), torch.randn(30, generator=gen)
kwargs = dict(norm_weight=w, norm_bias=b, eps=1e-5, width=36, dtype=torch.float32, ones_column=31, branch_bias=bias)
want_x, want_n = scaled_residual_and_norm_reference(x, scale, branch, gate, **kwargs)
y = x.clone()
got_x, got_n = scaled_residual_and_norm_triton(y, scale, branch, gate, out=y, **kwargs)
assert got_x.data_ptr() == y.data_ptr() and (got_x - want_x).abs().max().item() < 1e-5
assert got_n.shape == (2, 35, 36) and (got_n - want_n).abs().max().item() < 2e-5
got_x, got_n = scaled_residual_and_norm_triton(x, None, branch, None, **dict(kwargs, ones_column=None, width=30))
want_x, want_n = scaled_residual_and_norm_reference(x, None, branch, None, **dict(kwargs, ones_column=None, width=30))
assert (got_x - want_x).abs().max().item() < 1e-5 and (got_n - want_n).abs().max().item() < 2e-5
print("ok")
""")
    assert out.strip().endswith("ok")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize("scaled", [False, True])
def test_triton_matches_the_reference_on_a_gpu(dtype: torch.dtype, gated: bool, scaled: bool) -> None:
    pytest.importorskip("triton")
    from restore_cli.ops.residual.triton import scaled_residual_triton

    x, scale, branch, gate, want = _operands(dtype, "cuda", gated=gated, scaled=scaled)
    with torch.no_grad():
        assert (scaled_residual_triton(x, scale, branch, gate) - want).abs().max().item() < 1e-5
        into = scaled_residual(x, scale, branch, gate, out=x)  # CUDA inference dispatches to the kernel
    assert into.data_ptr() == x.data_ptr() and (x - want).abs().max().item() < 1e-5
    with pytest.raises(ValueError, match="does not cover"):
        scaled_residual_triton(x, scale, branch[..., :20])
    # a strided stream (MambaIRUNet's blocks) is left to the PyTorch ops, with the same result
    x, scale, branch, gate, want = _operands(dtype, "cuda", gated=gated, scaled=scaled)
    strided = x.transpose(1, 2)
    with torch.no_grad():
        got = scaled_residual(strided, scale, branch.transpose(1, 2), gate)
    assert (got - want.transpose(1, 2)).abs().max().item() < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_the_norm_variant_on_a_gpu(dtype: torch.dtype) -> None:
    """One pass for the update and the next LayerNorm (MambaIR's block) against the reference, in place."""
    pytest.importorskip("triton")
    x, scale, branch, gate, _ = _operands(dtype, "cuda")
    gen = torch.Generator().manual_seed(1)
    bias, w, b = (torch.randn(n, generator=gen).cuda() for n in (32, 30, 30))
    kwargs = dict(norm_weight=w, norm_bias=b, eps=1e-5, width=64, dtype=dtype, ones_column=30, branch_bias=bias)
    want_x, want_n = scaled_residual_and_norm_reference(x.clone(), scale, branch, gate, **kwargs)
    with torch.no_grad():
        got_x, got_n = scaled_residual_and_norm(x, scale, branch, gate, out=x, **kwargs)
    assert got_x.data_ptr() == x.data_ptr() and (got_x - want_x).abs().max().item() < 1e-5
    tolerance = 1e-5 if dtype == torch.float32 else 2e-2
    assert got_n.dtype == dtype and (got_n.float() - want_n.float()).abs().max().item() < tolerance

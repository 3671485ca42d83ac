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


def test_extra_stream_and_branch_rows_are_read_as_their_formula() -> None:
    """MambaIRv2's ends of a half-layer: ``x · scale + branch[rows] + extra``, the branch read in a permuted
    row order per image (the scan's sorted tokens), into ``extra`` itself where asked."""
    gen = torch.Generator().manual_seed(3)
    x, extra = torch.randn(2, 11, 16, generator=gen), torch.randn(2, 11, 16, generator=gen)
    scale = torch.randn(16, generator=gen)
    branch = torch.randn(2, 11, 24, generator=gen).bfloat16()
    rows = torch.stack([torch.randperm(11, generator=gen) for _ in range(2)])
    picked = torch.stack([branch[i, rows[i]] for i in range(2)])[..., :16].float()
    want = x * scale + picked + extra
    assert torch.allclose(scaled_residual(x, scale, branch, branch_rows=rows, extra=extra), want, atol=1e-6)
    kept = extra.clone()
    into = scaled_residual(x, scale, branch, branch_rows=rows, extra=extra, out=extra)
    assert into.data_ptr() == extra.data_ptr() and torch.allclose(extra, want, atol=1e-6)
    assert not torch.allclose(kept, want, atol=1e-3)  # the formula changed something


def test_the_norm_of_an_aligned_stream_takes_its_real_channels() -> None:
    """A LayerNorm weight shorter than the stream: the stream's first C' channels are normalised (the rest
    is the zero padding of MambaIRv2's aligned widths), written as rows of ``width`` with zeros after C'."""
    gen = torch.Generator().manual_seed(4)
    x = torch.nn.functional.pad(torch.randn(2, 9, 29, generator=gen), (0, 3))  # 29 real channels of 32
    branch = torch.nn.functional.pad(torch.randn(2, 9, 29, generator=gen), (0, 3))
    w, b = torch.randn(29, generator=gen), torch.randn(29, generator=gen)
    new, normed = scaled_residual_and_norm(x, None, branch, norm_weight=w, norm_bias=b, eps=1e-5, width=32,
                                           dtype=torch.float32)
    real = torch.nn.functional.layer_norm(new[..., :29], (29,), w, b, 1e-5)
    assert torch.allclose(normed[..., :29], real, atol=1e-5) and not normed[..., 29:].any()
    assert not torch.allclose(normed, torch.nn.functional.layer_norm(new, (32,)), atol=1e-2)


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
# the extra stream, the branch's rows permuted per image, and the norm of an aligned stream's real channels
extra = torch.randn(2, 35, 30, generator=gen)
rows = torch.stack([torch.randperm(35, generator=gen) for _ in range(2)])
kwargs = dict(norm_weight=w[:27], norm_bias=b[:27], eps=1e-5, width=30, dtype=torch.float32,
              branch_rows=rows, extra=extra)
want_x, want_n = scaled_residual_and_norm_reference(x, scale, branch, **kwargs)
got_x, got_n = scaled_residual_and_norm_triton(x, scale, branch, out=extra, **kwargs)
assert got_x.data_ptr() == extra.data_ptr() and (got_x - want_x).abs().max().item() < 1e-5
assert (got_n - want_n).abs().max().item() < 2e-5 and not got_n[..., 27:].any()
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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_extra_rows_and_aligned_norm_on_a_gpu(dtype: torch.dtype) -> None:
    """MambaIRv2's half-layer end on the kernel: ``x · scale + branch[rows] + extra`` into ``extra``, and the
    LayerNorm of the first 174 of 176 channels, against the reference."""
    pytest.importorskip("triton")
    gen = torch.Generator().manual_seed(5)
    x, extra = (torch.nn.functional.pad(torch.randn(2, 300, 174, generator=gen), (0, 2)).cuda() for _ in range(2))
    branch = torch.nn.functional.pad(torch.randn(2, 300, 174, generator=gen), (0, 2)).to("cuda", dtype)
    scale = torch.randn(176, generator=gen).cuda()
    rows = torch.stack([torch.randperm(300, generator=gen) for _ in range(2)]).cuda()
    w, b = torch.randn(174, generator=gen).cuda(), torch.randn(174, generator=gen).cuda()
    kwargs = dict(norm_weight=w, norm_bias=b, eps=1e-5, width=176, dtype=dtype, branch_rows=rows)
    want_x, want_n = scaled_residual_and_norm_reference(x, scale, branch, extra=extra, **kwargs)
    with torch.no_grad():
        got_x, got_n = scaled_residual_and_norm(x, scale, branch, extra=extra, out=extra, **kwargs)
    assert got_x.data_ptr() == extra.data_ptr() and (got_x - want_x).abs().max().item() < 1e-5
    tolerance = 1e-5 if dtype == torch.float32 else 2e-2
    assert (got_n.float() - want_n.float()).abs().max().item() < tolerance and not got_n[..., 174:].any()

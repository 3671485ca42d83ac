"""LayerNorm op: the reference, the module's dispatch, and the Triton kernel on a GPU (skipped on CPU)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from restore_cli.ops.layer_norm import (
    LayerNorm,
    layer_norm,
    layer_norm_padded_reference,
    layer_norm_reference,
    use_triton,
)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_reference_is_torch_layer_norm_in_float32():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 7, 60) * 4 + 2
    norm = nn.LayerNorm(60)
    nn.init.normal_(norm.weight)
    nn.init.normal_(norm.bias)
    torch.testing.assert_close(layer_norm_reference(x, norm.weight, norm.bias), norm(x))
    out = layer_norm_reference(x.bfloat16(), norm.weight, norm.bias)
    assert out.dtype == torch.float32  # as under autocast
    torch.testing.assert_close(out, norm(x.bfloat16().float()))


def test_module_keeps_the_official_state_dict_and_runs_torch_on_cpu():
    ours, theirs = LayerNorm(12), nn.LayerNorm(12)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 12)
    assert not use_triton(x, ours.weight)
    torch.testing.assert_close(ours(x), theirs(x))


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError, match="backend"):
        layer_norm(torch.randn(2, 3), torch.ones(3), None, backend="fast")


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("shape", [(1, 180, 320, 60), (3, 77, 180), (5, 1), (2, 3, 4, 1000)])
@pytest.mark.parametrize("bias", [True, False])
def test_triton_matches_reference(dtype, shape, bias):
    torch.manual_seed(0)
    x = (torch.randn(shape, device="cuda") * 3 + 1).to(dtype)
    w = torch.randn(shape[-1], device="cuda")
    b = torch.randn(shape[-1], device="cuda") if bias else None
    with torch.inference_mode():
        assert use_triton(x, w)
        out = layer_norm(x, w, b)
    assert out.dtype == torch.float32 and out.shape == x.shape
    torch.testing.assert_close(out, layer_norm_reference(x, w, b), rtol=1e-5, atol=2e-5)


@pytest.mark.gpu
@needs_cuda
def test_triton_reads_strided_rows_and_module_dispatches():
    x = torch.randn(4, 10, 64, device="cuda")[..., :48]
    norm = LayerNorm(48).cuda()
    with torch.inference_mode():
        out = norm(x)
    torch.testing.assert_close(out, nn.functional.layer_norm(x, (48,), norm.weight, norm.bias), rtol=1e-5, atol=2e-5)
    out = norm(x)  # gradients enabled: PyTorch's own kernel, differentiable
    assert out.requires_grad


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("out_dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize(("channels", "out_width"), [(60, 64), (180, 184), (36, 40), (48, 48)])
def test_triton_writes_zero_padded_rows_in_the_dtype_asked(channels, out_width, out_dtype):
    """The aligned rows MambaIR's blocks feed their GEMMs: the LayerNorm in the first ``channels`` columns,
    zeros after them, in ``out_dtype``."""
    from restore_cli.ops.layer_norm.triton import layer_norm_triton

    torch.manual_seed(0)
    x = torch.randn(3, 70, channels, device="cuda") * 3 + 1
    w, b = torch.randn(channels, device="cuda"), torch.randn(channels, device="cuda")
    with torch.inference_mode():
        out = layer_norm_triton(x, w, b, 1e-5, out_width=out_width, out_dtype=out_dtype)
    assert out.dtype == out_dtype and out.shape == (3, 70, out_width)
    want = layer_norm_reference(x, w, b).to(out_dtype)
    tol = {"rtol": 1e-5, "atol": 2e-5} if out_dtype == torch.float32 else {"rtol": 1e-2, "atol": 1e-2}
    torch.testing.assert_close(out[..., :channels], want, **tol)
    assert not out[..., channels:].any()


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("out_dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("channels", [216, 120, 360])
def test_triton_gates_the_norm_with_silu(channels, out_dtype):
    """MambaIR's ``out_norm(y) * silu(z)`` as one kernel: ``z`` a bf16 half of ``in_proj``'s output (row
    stride twice its width), the product rounded once to ``out_dtype``."""
    from restore_cli.ops.layer_norm.triton import layer_norm_triton

    torch.manual_seed(1)
    y = torch.randn(2, 50, channels, device="cuda") * 2 - 1
    z = torch.randn(2, 50, 2 * channels, device="cuda").bfloat16()[..., channels:]
    w, b = torch.randn(channels, device="cuda"), torch.randn(channels, device="cuda")
    with torch.inference_mode():
        out = layer_norm_triton(y, w, b, 1e-5, out_dtype=out_dtype, gate=z)
    want = layer_norm_reference(y, w, b) * F.silu(z.float())
    assert out.dtype == out_dtype and out.shape == y.shape
    tol = {"rtol": 1e-5, "atol": 2e-5} if out_dtype == torch.float32 else {"rtol": 1e-2, "atol": 1e-2}
    torch.testing.assert_close(out.float(), want, **tol)
    with pytest.raises(ValueError, match="gate"):
        layer_norm_triton(y, w, b, gate=z[..., :-1])


def test_padded_reference_is_the_layer_norm_then_its_padding() -> None:
    """:func:`layer_norm_padded_reference`: the LayerNorm of the real channels, zeros after them except a
    column of ones where asked; a ones column outside the padding is refused."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 20, generator=gen) * 2 + 1
    w, b = torch.randn(20, generator=gen), torch.randn(20, generator=gen)
    want = F.layer_norm(x, (20,), w, b)
    plain = layer_norm_padded_reference(x, w, b, 1e-5, 24)
    assert torch.allclose(plain[..., :20], want, atol=1e-5) and not plain[..., 20:].any()
    ones = layer_norm_padded_reference(x, w, b, 1e-5, 24, ones_column=22)
    assert torch.equal(ones[..., :20], plain[..., :20]) and (ones[..., 22] == 1).all()
    assert not ones[..., [20, 21, 23]].any()
    for column in (19, 24):
        with pytest.raises(ValueError, match="not a padding column"):
            layer_norm_padded_reference(x, w, b, 1e-5, 24, ones_column=column)

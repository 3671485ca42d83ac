"""Per-image channel means (:mod:`restore_cli.ops.channel_mean`): the reference on the CPU, the Triton
kernel under Triton's interpreter and on a GPU."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from triton_interpreter import run_in_triton_interpreter

from restore_cli.ops.channel_mean import (
    _rows_are_a_view,
    channel_attention,
    channel_attention_reference,
    channel_mean,
    channel_mean_reference,
)


def _attention_operands(device: str = "cpu", channels: int = 64, squeezed: int = 2):
    gen = torch.Generator().manual_seed(channels)
    x = torch.randn(2, 9, 11, channels, generator=gen)
    w1, b1 = torch.randn(squeezed, channels, generator=gen), torch.randn(squeezed, generator=gen)
    w2, b2 = torch.randn(channels, squeezed, generator=gen), torch.randn(channels, generator=gen)
    bias = torch.randn(channels, generator=gen)
    return [t.to(device) for t in (x, w1, b1, w2, b2, bias)]


def test_reference_is_the_mean_over_the_pixels() -> None:
    x = torch.randn(2, 5, 7, 12)
    want = x.permute(0, 3, 1, 2).flatten(2).mean(-1)
    assert torch.allclose(channel_mean(x), want, atol=1e-6)
    assert channel_mean(x.bfloat16()).dtype == torch.float32
    with pytest.raises(ValueError, match="unknown channel-mean backend"):
        channel_mean(x, backend="cuda")


def test_channel_attention_is_squeeze_relu_excite_sigmoid_of_the_means() -> None:
    x, w1, b1, w2, b2, bias = _attention_operands()
    mean = x.mean(dim=(1, 2)) + bias
    want = torch.sigmoid(torch.relu(mean @ w1.T + b1) @ w2.T + b2)
    got = channel_attention(x, w1, b1, w2, b2, mean_bias=bias)
    assert got.shape == (2, 64) and torch.allclose(got, want, atol=1e-6)
    plain = channel_attention(x, w1, None, w2, None)
    assert torch.allclose(plain, torch.sigmoid(torch.relu(x.mean(dim=(1, 2)) @ w1.T) @ w2.T), atol=1e-6)
    with pytest.raises(ValueError, match="unknown channel-attention backend"):
        channel_attention(x, w1, b1, w2, b2, backend="cuda")


def test_the_kernel_reads_only_layouts_whose_pixels_are_one_run_of_rows() -> None:
    image = torch.randn(2, 12, 5, 7).to(memory_format=torch.channels_last)
    assert _rows_are_a_view(image.permute(0, 2, 3, 1))  # a channels_last image viewed channel-last
    assert _rows_are_a_view(torch.randn(2, 35, 16)[..., :12])  # padded rows
    assert not _rows_are_a_view(torch.randn(2, 12, 5, 7).permute(0, 2, 3, 1))  # channel-first memory
    assert not _rows_are_a_view(torch.randn(2, 5, 9, 12)[:, :, :7])  # a crop: rows not one run


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_kernel_in_the_triton_interpreter() -> None:
    out = run_in_triton_interpreter("""
import torch
from restore_cli.ops.channel_mean import channel_mean_reference
from restore_cli.ops.channel_mean import triton as kernels
from restore_cli.ops.channel_mean.triton import channel_mean_triton

gen = torch.Generator().manual_seed(0)
for b, length, c, width in [(1, 700, 30, 32), (2, 37, 184, 192), (3, 5, 7, 7)]:
    rows = torch.randn(b, length, width, generator=gen)[..., :c]
    got = channel_mean_triton(rows)
    assert got.shape == (b, c) and (got - channel_mean_reference(rows)).abs().max().item() < 1e-5, (b, length, c)
# a large image's blocks grow (here capped at 2: 700 rows of 32 channels in two blocks of 512, not 3 of 256)
kernels._MAX_BLOCKS = 2
rows = torch.randn(1, 700, 32, generator=gen)
partials, blocks = kernels._partial_sums(rows)
assert blocks == 2 and (channel_mean_triton(rows) - rows.mean(1)).abs().max().item() < 1e-5
kernels._MAX_BLOCKS = 512
# the channel attention in one program per image: light's 64 of 2, classic's 184 of 6, with and without biases
from restore_cli.ops.channel_mean import channel_attention_reference
from restore_cli.ops.channel_mean.triton import channel_attention_triton
for b, length, c, s in [(1, 700, 64, 2), (2, 37, 184, 6), (3, 5, 7, 1)]:
    rows = torch.randn(b, length, c + 8, generator=gen)[..., :c]
    w1, b1 = torch.randn(s, c, generator=gen), torch.randn(s, generator=gen)
    w2, b2 = torch.randn(c, s, generator=gen).bfloat16(), torch.randn(c, generator=gen).bfloat16()
    bias = torch.randn(c, generator=gen)
    for biases in (True, False):
        kw = dict(squeeze_bias=b1 if biases else None, excite_bias=b2 if biases else None)
        want = channel_attention_reference(rows, w1, kw["squeeze_bias"], w2, kw["excite_bias"],
                                           mean_bias=bias if biases else None)
        got = channel_attention_triton(rows, w1, kw["squeeze_bias"], w2, kw["excite_bias"],
                                       mean_bias=bias if biases else None)
        assert got.shape == (b, c) and (got - want).abs().max().item() < 1e-5, (b, length, c, biases)
print("ok")
""")
    assert out.strip().endswith("ok")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_kernel_matches_the_reference_on_a_gpu(dtype: torch.dtype) -> None:
    pytest.importorskip("triton")
    conv_out = torch.randn(2, 192, 45, 80, device="cuda").to(dtype).to(memory_format=torch.channels_last)
    image = conv_out.permute(0, 2, 3, 1)[..., :184]  # MambaIR's CAB: padded channels, channel-last view
    with torch.no_grad():
        got = channel_mean(image)
    want = channel_mean_reference(image.double()).float()
    assert got.dtype == torch.float32 and (got - want).abs().max().item() < 1e-5
    strided = torch.randn(2, 184, 45, 80, device="cuda").to(dtype).permute(0, 2, 3, 1)  # left to PyTorch
    with torch.no_grad():
        assert torch.allclose(channel_mean(strided), channel_mean_reference(strided), atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(("channels", "squeezed"), [(64, 2), (184, 6)])
def test_channel_attention_kernel_on_a_gpu(channels: int, squeezed: int) -> None:
    pytest.importorskip("triton")
    _x, w1, b1, w2, b2, bias = _attention_operands("cuda", channels, squeezed)
    image = torch.randn(2, 180, 320, channels, device="cuda").bfloat16()
    with torch.no_grad():
        want = channel_attention_reference(image, w1, b1, w2, b2.bfloat16(), mean_bias=bias)
        got = channel_attention(image, w1, b1, w2, b2.bfloat16(), mean_bias=bias, backend="triton")
    assert (got - want).abs().max().item() < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_channel_attention_kernel_of_a_large_image_on_a_gpu() -> None:
    """Colour DN's whole 1280x720: the partial sums stay within ``_MAX_BLOCKS`` and still add up."""
    pytest.importorskip("triton")
    from restore_cli.ops.channel_mean import triton as kernels

    _x, w1, b1, w2, b2, bias = _attention_operands("cuda", 180, 6)
    image = torch.randn(1, 720, 1280, 180, device="cuda").bfloat16()
    with torch.no_grad():
        assert kernels._partial_sums(image.reshape(1, -1, 180))[1] <= kernels._MAX_BLOCKS
        want = channel_attention_reference(image, w1, b1, w2, b2, mean_bias=bias)
        got = channel_attention(image, w1, b1, w2, b2, mean_bias=bias, backend="triton")
    assert (got - want).abs().max().item() < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["v1_sr_x2", "v1_light_x4"])
def test_mambair_with_the_fused_channel_attention_on_a_gpu(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """MambaIR's aligned CAB (classic and light) with ``FUSED_ATTENTION`` on computes what it computes off,
    in float32, folded as the engine folds."""
    pytest.importorskip("triton")
    import json
    from pathlib import Path

    from restore_cli.archs import from_official
    from restore_cli.archs.layers import fold_inference_weights
    from restore_cli.ops import channel_mean as channel_mean_module

    cases = json.loads((Path(__file__).parents[1] / "fixtures" / "parity" / "cases.json").read_text())
    torch.manual_seed(0)
    net = from_official(cases[name]["official_class"], cases[name]["kwargs"]).eval().cuda()
    x = torch.rand(*cases[name]["input_shape"], device="cuda")
    fold_inference_weights(net)
    calls = []
    kernel = channel_mean_module.channel_attention_reference
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        monkeypatch.setattr(channel_mean_module, "channel_attention_reference",
                            lambda *a, **k: calls.append(1) or kernel(*a, **k))
        off = net(x)
        assert calls  # the aligned CABs went through channel_attention
        monkeypatch.setattr(channel_mean_module, "FUSED_ATTENTION", True)
        calls.clear()
        on = net(x)
    assert not calls and ((on - off).norm() / off.norm()).item() < 1e-5

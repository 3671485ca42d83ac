"""Depthwise conv of channel-last tokens (:mod:`restore_cli.ops.depthwise_conv`): the reference against
``nn.Conv2d`` on the image and the models' call sites on the CPU; the Triton kernel against the reference
on a GPU (dtypes, kernel sizes, dilations, epilogues, strided input, compiled) and through Triton's
interpreter on a CPU where Triton is installed."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from triton_interpreter import run_in_triton_interpreter

from restore_cli.archs.layers import _fused_activation, _plain_depthwise, conv_on_tokens
from restore_cli.ops.depthwise_conv import depthwise_conv_tokens, depthwise_conv_tokens_reference

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

EPILOGUES = [("none", "none"), ("gelu", "add"), ("sigmoid", "mul"), ("silu", "none")]


def _image_conv(x, conv, size, activation, combine):
    """The official way: tokens -> (B, C, H, W) image -> nn.Conv2d -> tokens, then the epilogue."""
    b, _, c = x.shape
    y = conv(x.transpose(1, 2).reshape(b, c, *size)).flatten(2).transpose(1, 2)
    y = {"none": y, "gelu": F.gelu(y), "silu": F.silu(y), "sigmoid": torch.sigmoid(y)}[activation]
    return {"none": y, "add": x + y, "mul": x * y}[combine]


def _conv(c, k, dilation, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Conv2d(c, c, k, 1, dilation * (k - 1) // 2, dilation=dilation, groups=c).to(dtype)


@pytest.mark.parametrize(("activation", "combine"), EPILOGUES)
@pytest.mark.parametrize(("k", "dilation"), [(3, 1), (5, 1), (3, 2)])
def test_reference_is_the_image_convolution(activation, combine, k, dilation):
    conv, size = _conv(6, k, dilation), (5, 7)
    x = torch.randn(2, 35, 6, dtype=torch.float64)
    got = depthwise_conv_tokens_reference(x, conv.weight, conv.bias, size, padding=conv.padding[0],
                                          dilation=dilation, activation=activation, combine=combine)
    torch.testing.assert_close(got, _image_conv(x, conv, size, activation, combine), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("combine", ["add", "mul"])
def test_reference_combines_with_other_tokens(combine):
    """MambaIRv2 light's gate ``x1 * conv(x2)``: the combination with another tensor of the same tokens."""
    conv, size = _conv(6, 5, 1), (5, 7)
    x, other = torch.randn(2, 35, 6, dtype=torch.float64), torch.randn(2, 35, 6, dtype=torch.float64)
    got = depthwise_conv_tokens(x, conv.weight, conv.bias, size, padding=2, combine=combine, other=other)
    y = _image_conv(x, conv, size, "none", "none")
    torch.testing.assert_close(got, other + y if combine == "add" else other * y, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="combined tokens"):
        depthwise_conv_tokens(x, conv.weight, conv.bias, size, padding=2, combine=combine, other=other[:, 1:])


def test_auto_backend_on_the_cpu_is_the_reference_and_bad_arguments_are_refused():
    conv, x = _conv(4, 3, 1), torch.randn(1, 12, 4, dtype=torch.float64)
    got = depthwise_conv_tokens(x, conv.weight, conv.bias, (3, 4), padding=1, activation="silu")
    torch.testing.assert_close(got, _image_conv(x, conv, (3, 4), "silu", "none"))
    with pytest.raises(ValueError, match="backend"):
        depthwise_conv_tokens(x, conv.weight, conv.bias, (3, 4), padding=1, backend="cudnn")
    with pytest.raises(ValueError, match="activation"):
        depthwise_conv_tokens(x, conv.weight, conv.bias, (3, 4), padding=1, activation="relu")
    with pytest.raises(ValueError, match="do not fit"):
        depthwise_conv_tokens(x, conv.weight, conv.bias, (4, 4), padding=1)


def test_conv_on_tokens_fuses_only_what_the_kernel_knows():
    """The module's own activation or the caller's, one of them, and only plain depthwise convs."""
    assert _fused_activation([], "none") == "none"
    assert _fused_activation([nn.GELU()], "none") == "gelu"
    assert _fused_activation([], "sigmoid") == "sigmoid"
    assert _fused_activation([nn.GELU()], "silu") is None  # two activations: PyTorch ops
    assert _fused_activation([nn.GELU(approximate="tanh")], "none") is None
    assert _fused_activation([nn.ReLU()], "none") is None
    assert _plain_depthwise(_conv(4, 5, 1)) and _plain_depthwise(_conv(4, 3, 2))
    assert not _plain_depthwise(nn.Conv2d(4, 4, 3, 1, 1))  # dense
    assert not _plain_depthwise(nn.Conv2d(4, 4, 3, 2, 1, groups=4))  # strided
    assert not _plain_depthwise(nn.Conv2d(4, 4, 3, 1, 1, groups=4, padding_mode="reflect"))
    assert not _plain_depthwise(nn.Conv2d(4, 4, 3, 1, 0, groups=4))  # shrinks the image


def test_conv_on_tokens_combines_with_other_tokens_on_the_cpu():
    conv = _conv(6, 5, 1)
    x, other = torch.randn(2, 30, 6, dtype=torch.float64), torch.randn(2, 30, 6, dtype=torch.float64)
    got = conv_on_tokens(conv, x, (5, 6), combine="mul", other=other)
    torch.testing.assert_close(got, other * _image_conv(x, conv, (5, 6), "none", "none"))


@pytest.mark.parametrize(("activation", "combine"), EPILOGUES)
def test_conv_on_tokens_on_the_cpu_matches_the_image_convolution(activation, combine):
    conv = nn.Sequential(_conv(6, 5, 1), nn.GELU()) if activation == "gelu" else _conv(6, 5, 1)
    x = torch.randn(2, 30, 6, dtype=torch.float64)
    got = conv_on_tokens(conv, x, (5, 6), activation="none" if activation == "gelu" else activation, combine=combine)
    torch.testing.assert_close(got, _image_conv(x, conv, (5, 6), "none" if activation == "gelu" else activation,
                                                combine))


GPU_CASES = [  # (batch, height, width, channels, k, dilation)
    (1, 17, 45, 352, 5, 1),  # MambaIRv2 Base's ConvFFN width, a height and width no tile divides
    (2, 9, 33, 360, 3, 1),  # classic's SS2D width, two images
    (1, 12, 20, 96, 5, 1),
    (1, 10, 70, 60, 3, 2),  # MambaIR light's dilated conv
    (2, 6, 7, 13, 7, 1),  # odd channel count (no vector loads), kernel larger than the image's height
]


@needs_cuda
@pytest.mark.parametrize("case", GPU_CASES, ids=lambda c: "B{}-{}x{}-C{}-k{}-d{}".format(*c))
@pytest.mark.parametrize(("activation", "combine"), EPILOGUES)
@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float32, 1e-6), (torch.bfloat16, 4e-3),
                                                  (torch.float16, 5e-4)])
@torch.inference_mode()
def test_kernel_matches_the_reference(case, activation, combine, dtype, tolerance):
    b, h, w, c, k, dilation = case
    conv = _conv(c, k, dilation, dtype=torch.float32).cuda()
    x = torch.randn(b, h * w, c, device="cuda").to(dtype)
    args = dict(padding=conv.padding[0], dilation=dilation, activation=activation, combine=combine)
    # the reference in float32 from the same rounded input, float32 weights: what the kernel computes,
    # up to the order of the sums and the output's rounding to ``dtype``
    expected = depthwise_conv_tokens_reference(x.float(), conv.weight, conv.bias, (h, w), **args)
    got = depthwise_conv_tokens(x, conv.weight, conv.bias, (h, w), **args, backend="triton")
    assert got.dtype == dtype and got.shape == x.shape and got.is_contiguous()
    rel = ((got.float() - expected).norm() / expected.norm()).item()
    assert rel < tolerance, rel


@needs_cuda
def test_kernel_reads_a_chunk_in_place_and_runs_as_one_operator_when_compiled():
    """SS2D convolves one half of its input projection: tokens 2C apart, read without a copy; under
    ``torch.compile`` the kernel is one opaque operator with the same output."""
    b, h, w, c = 2, 11, 19, 120
    conv = _conv(c, 3, 1, dtype=torch.float32).cuda()
    with torch.inference_mode():
        _check_chunk_and_compiled(conv, b, h, w, c)
    with torch.inference_mode():  # a module moved to the GPU under inference mode: inference-tensor weights
        _check_chunk_and_compiled(_conv(c, 3, 1, dtype=torch.float32).cuda(), b, h, w, c)


def _check_chunk_and_compiled(conv, b, h, w, c):
    projection = torch.randn(b, h * w, 2 * c, device="cuda", dtype=torch.bfloat16)
    chunk = projection[..., :c]
    expected = depthwise_conv_tokens(chunk.contiguous(), conv.weight, conv.bias, (h, w), padding=1,
                                     activation="silu", backend="triton")
    got = depthwise_conv_tokens(chunk, conv.weight, conv.bias, (h, w), padding=1, activation="silu",
                                backend="triton")
    assert torch.equal(got, expected)

    def layer(t):
        return conv_on_tokens(conv, t[..., :c], (h, w), activation="silu", combine="add")

    compiled = torch.compile(layer, fullgraph=True)
    torch.testing.assert_close(compiled(projection), layer(projection), rtol=0, atol=0)


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@torch.inference_mode()
def test_kernel_combines_with_a_chunk_of_other_tokens_on_a_gpu(dtype):
    """MambaIRv2 light's gate at 180x320: ``x1 * conv5x5(x2)`` with ``x1`` a chunk of the projection."""
    b, h, w, c = 1, 180, 320, 48
    conv = _conv(c, 5, 1, dtype=torch.float32).cuda()
    halves = torch.randn(b, h * w, 2 * c, device="cuda").to(dtype)
    other, x = halves[..., :c], halves[..., c:].contiguous()
    expected = depthwise_conv_tokens_reference(x.float(), conv.weight, conv.bias, (h, w), padding=2, combine="mul",
                                               other=other.float())
    got = depthwise_conv_tokens(x, conv.weight, conv.bias, (h, w), padding=2, combine="mul", other=other,
                                backend="triton")
    rel = ((got.float() - expected).norm() / expected.norm()).item()
    assert got.dtype == dtype and rel < (1e-6 if dtype == torch.float32 else 4e-3), rel

    def gate(halves):  # as the gate runs it, also as one operator inside a compiled region
        return conv_on_tokens(conv, halves[..., c:], (h, w), combine="mul", other=halves[..., :c])

    torch.testing.assert_close(torch.compile(gate, fullgraph=True)(halves), gate(halves), rtol=0, atol=0)


@needs_cuda
def test_the_cached_weight_table_follows_the_weights():
    conv = _conv(32, 3, 1, dtype=torch.float32).cuda().requires_grad_(False)
    x = torch.randn(1, 64, 32, device="cuda")
    with torch.inference_mode():
        before = conv_on_tokens(conv, x, (8, 8))
    with torch.no_grad():
        conv.weight.mul_(2)  # in place: same storage, new version
    with torch.inference_mode():
        after = conv_on_tokens(conv, x, (8, 8))
    torch.testing.assert_close(after - conv.bias, 2 * (before - conv.bias), rtol=1e-5, atol=1e-5)


INTERPRETER_SCRIPT = textwrap.dedent("""
    import torch
    from restore_cli.ops.depthwise_conv import depthwise_conv_tokens_reference
    from restore_cli.ops.depthwise_conv import tap_table
    from restore_cli.ops.depthwise_conv.triton import depthwise_conv_triton

    gen = torch.Generator().manual_seed(0)
    for b, h, w, c, k, dil, act, combine, block in [
            (2, 5, 7, 12, 3, 1, "silu", "none", (1, 2, 2, 8, 1)),
            (1, 9, 6, 16, 5, 1, "gelu", "add", (4, 2, 4, 16, 1)),
            (1, 7, 11, 10, 3, 2, "none", "none", (2, 4, 4, 4, 1)),  # dilated; the last channel block moved back
            (1, 4, 4, 3, 5, 1, "sigmoid", "mul", (2, 1, 2, 2, 1)),
            (1, 12, 20, 24, 3, 1, "none", "add", (2, 2, 4, 16, 1))]:  # interior blocks, unmasked
        x = torch.randn(b, h * w, 2 * c, generator=gen)[..., :c]  # a chunk: tokens 2C apart
        if b > 1:  # images interleaved: tokens 2BC apart, images 2C apart
            x = torch.randn(h * w, b, 2 * c, generator=gen)[..., :c].transpose(0, 1)
        weight, bias = torch.randn(c, 1, k, k, generator=gen), torch.randn(c, generator=gen)
        args = dict(padding=dil * (k - 1) // 2, dilation=dil, activation=act, combine=combine)
        expected = depthwise_conv_tokens_reference(x.double(), weight.double(), bias.double(), (h, w), **args)
        for inner in (True, False):  # both launch orders of the channel blocks
            got = depthwise_conv_triton(x, tap_table(weight), bias, h, w, **args, block=block, channels_inner=inner)
            rel = ((got.double() - expected).norm() / expected.norm()).item()
            assert rel < 1e-6, (b, h, w, c, k, dil, act, combine, block, inner, rel)
    # combined with another tensor of the same tokens (MambaIRv2 light's gate: x1 * conv(x2), x1 a chunk),
    # interior and border blocks, one and two images
    for b, h, w, c, combine, block in [(1, 12, 20, 16, "mul", (2, 2, 4, 16, 1)), (2, 5, 9, 8, "add", (2, 2, 2, 8, 1))]:
        halves = torch.randn(b, h * w, 2 * c, generator=gen)
        other, x = halves[..., :c], halves[..., c:].contiguous()
        weight, bias = torch.randn(c, 1, 5, 5, generator=gen), torch.randn(c, generator=gen)
        args = dict(padding=2, combine=combine)
        expected = depthwise_conv_tokens_reference(x.double(), weight.double(), bias.double(), (h, w), **args,
                                                   other=other.double())
        got = depthwise_conv_triton(x, tap_table(weight), bias, h, w, **args, other=other, block=block)
        rel = ((got.double() - expected).norm() / expected.norm()).item()
        assert rel < 1e-6, (b, h, w, c, combine, rel)
    print("ok")
""")


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_kernel_in_the_triton_interpreter():
    """The kernel's index arithmetic (taps, padding masks, strided tokens, epilogues, both launch orders of
    the channel blocks) on the CPU."""
    assert run_in_triton_interpreter(INTERPRETER_SCRIPT).strip() == "ok"

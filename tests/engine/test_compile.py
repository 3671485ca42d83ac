"""Regional torch.compile (``--compile``): the scans are opaque operators, compiled blocks match eager."""

from __future__ import annotations

import shutil

import pytest
import torch

from restore_cli.archs import from_official
from restore_cli.engine.compile import compile_blocks, compile_targets
from restore_cli.engine.run import exact_fp32
from restore_cli.ops.scan import selective_scan, selective_scan_tokens
from restore_cli.ops.scan.cross import cross_selective_scan_tokens

needs_cxx = pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                               reason="Inductor on the CPU needs a C++ compiler")


def _small_mambair(upsampler: str = "pixelshuffle") -> torch.nn.Module:
    """Two MambaIR blocks of 60 channels (CAB: 20 channels inside), or the light blocks
    (``pixelshuffledirect``: 1x1 and depthwise convs, one of them dilated)."""
    torch.manual_seed(0)
    net = from_official("MambaIR", dict(upscale=2, embed_dim=60, depths=[2], mlp_ratio=2.0, d_state=8,
                                        upsampler=upsampler, img_range=1.0))
    return net.eval()


def test_the_scans_trace_as_single_operators_without_graph_breaks():
    torch.manual_seed(0)
    b, h, w, e, n = 1, 3, 5, 4, 2
    tokens, delta = torch.randn(b, h * w, e), torch.randn(b, h * w, 4 * e)
    A, B, C = -torch.rand(4 * e, n) - 0.5, torch.randn(b, h * w, 4, n), torch.randn(b, h * w, 4, n)
    D, bias = torch.randn(4 * e), torch.randn(4 * e)

    def both(tokens, delta, A, B, C, D, bias):
        y = cross_selective_scan_tokens(tokens, delta, A, B, C, D, bias, True, height=h, width=w)
        u = y.transpose(1, 2)  # (b, e, L): a plain scan on the result
        v = selective_scan(u, u.sigmoid(), A[:e], B[:, :, 0].transpose(1, 2), C[:, :, 0].transpose(1, 2))
        return selective_scan_tokens(v.transpose(1, 2), y.sigmoid(), A[:e], B[:, :, 1], C[:, :, 1])

    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    with torch.inference_mode():
        expected = both(tokens, delta, A, B, C, D, bias)
        # fullgraph=True: any graph break inside the scans' Python (backend choice, kernels) is an error
        got = torch.compile(both, backend=backend, fullgraph=True)(tokens, delta, A, B, C, D, bias)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
    targets = {str(node.target) for node in graphs[0].graph.nodes if node.op == "call_function"}
    assert "restore.cross_scan_tokens.default" in targets and "restore.selective_scan.default" in targets
    assert "restore.selective_scan_tokens.default" in targets


def test_compile_targets_are_the_declared_block_classes():
    net = _small_mambair()
    blocks = compile_targets(net)
    assert len(blocks) == 2 and {type(b).__name__ for b in blocks} == {"VSSBlock"}
    assert compile_targets(torch.nn.Conv2d(1, 1, 1)) == []


def test_compile_leaves_full_width_mambair_blocks_to_the_default_kernels(monkeypatch):
    """``--compile`` compiles MambaIR light's blocks, not the full-width ones (classic SR, DN, JPEG), which
    ran as fast or faster uncompiled (``MambaIR.compile_pays``); ``every_block`` compiles them anyway."""
    seen = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: seen.append(type(self).__name__))
    assert compile_blocks(_small_mambair()) == 0 and seen == []
    assert compile_blocks(_small_mambair("pixelshuffledirect")) == 2
    assert compile_blocks(_small_mambair(), every_block=True) == 2
    assert seen == ["VSSBlock"] * 4


@needs_cxx
def test_compiled_blocks_match_eager_and_keep_the_state_dict():
    net = _small_mambair()
    keys = list(net.state_dict())
    x = torch.rand(1, 3, 12, 20)
    with torch.inference_mode():
        expected = net(x)
        assert compile_blocks(net, every_block=True) == 2
        assert compile_blocks(net, every_block=True) == 0  # idempotent
        got = net(x)
    assert list(net.state_dict()) == keys
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_token_convolutions_trace_as_single_operators_and_follow_autocast():
    """``conv_on_tokens``: one opaque node when compiled (Inductor would copy tokens to channel-first for
    a grouped conv), the same values as the conv on the image, the autocast dtype under autocast."""
    from restore_cli.archs.layers import conv_on_tokens, image_to_tokens, tokens_to_image

    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(6, 6, 5, padding=2, groups=6), torch.nn.GELU())
    x, size = torch.randn(2, 4 * 7, 6), (4, 7)
    expected = image_to_tokens(conv(tokens_to_image(x, size)))
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    with torch.inference_mode():
        torch.testing.assert_close(conv_on_tokens(conv, x, size), expected)
        got = torch.compile(lambda t: conv_on_tokens(conv, t, size), backend=backend, fullgraph=True)(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = conv_on_tokens(conv, x, size)
    torch.testing.assert_close(got, expected)
    targets = {str(node.target) for node in graphs[0].graph.nodes if node.op == "call_function"}
    assert "restore.conv2d_tokens.default" in targets
    assert low.dtype == torch.bfloat16 and (low.float() - expected).abs().max().item() < 0.05


def test_network_compile_options_reach_torch_compile(monkeypatch):
    """MambaIR declares Inductor options for its blocks; they are merged with a mode and passed on."""
    from restore_cli.engine.compile import compile_options

    net = _small_mambair()
    own = dict(type(net).compile_options)
    assert own["force_shape_pad"] is True and own["padding_alignment_bytes"] == 16
    assert compile_options(torch.nn.Conv2d(1, 1, 1)) is None
    merged = compile_options(net, "max-autotune-no-cudagraphs")
    assert merged["max_autotune"] is True and merged["force_shape_pad"] is True
    # --autotune: coordinate-descent tuning too, for a network without options of its own as well
    assert merged["coordinate_descent_tuning"] is True
    plain = compile_options(torch.nn.Conv2d(1, 1, 1), "max-autotune-no-cudagraphs")
    assert plain["max_autotune"] is True and plain["coordinate_descent_tuning"] is True
    seen = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: seen.append(kw))
    assert compile_blocks(net, every_block=True) == 2
    assert seen == [{"dynamic": False, "options": own}] * 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("upsampler", ["pixelshuffle", "pixelshuffledirect"])
def test_padded_compiled_blocks_match_eager_on_cuda_in_float32(upsampler):
    """With the stride and GEMM-shape padding of ``MambaIR.compile_options`` (60 channels: 120-byte rows,
    padded) and the CAB's compiled form (zero-padded channels; light: the dilated conv as a stencil), the
    compiled blocks compute what eager does: the padding is zeros, so float32 agrees to rounding (TF32
    off, as ``--precision fp32`` runs)."""
    net = _small_mambair(upsampler).cuda()
    x = torch.rand(1, 3, 40, 56, device="cuda")
    with exact_fp32(), torch.inference_mode():
        expected = net(x)
        compile_blocks(net, every_block=True)
        got = net(x)
    rel = ((got - expected).norm() / expected.norm()).item()
    assert rel < 1e-5, rel


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_token_convolution_reads_row_padded_tokens_and_never_their_padding(dtype):
    """Tokens whose rows are padded (348 channels in rows of 352, NaN in the padding) convolve as the
    contiguous tokens do, through the depthwise kernel and through the cuDNN operator."""
    from restore_cli.archs.layers import conv_on_tokens
    from restore_cli.ops.depthwise_conv import depthwise_conv_tokens_reference

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(348, 348, 3, padding=1, groups=348).cuda().to(dtype)
    x, size = torch.randn(1, 12 * 20, 348, device="cuda", dtype=dtype), (12, 20)
    wide = torch.full((1, 12 * 20, 352), float("nan"), device="cuda", dtype=dtype)
    wide[..., :348] = x
    with torch.inference_mode():
        expected = conv_on_tokens(conv, x, size)
        got = conv_on_tokens(conv, wide[..., :348], size)
        opaque = torch.ops.restore.conv2d_tokens(wide[..., :348], conv.weight, conv.bias, 12, 20, 1, 1, 348)
        cudnn = depthwise_conv_tokens_reference(x, conv.weight, conv.bias, size, padding=1)
    assert got.isfinite().all() and opaque.isfinite().all()
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    torch.testing.assert_close(opaque, cudnn, rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_compiled_mambairv2_runs_at_aligned_widths_with_the_same_outputs():
    """``--compile`` on CUDA zero-pads MambaIRv2's widths (30 channels -> 32, heads of 10 -> 16) before
    compiling; in float32 (TF32 off) the output is eager's, the channel-last kernels included."""
    from restore_cli.engine.model import wrap_module

    torch.manual_seed(0)
    net = from_official("MambaIRv2", dict(upscale=2, embed_dim=30, depths=[2, 2], num_heads=[3, 5], d_state=8,
                                          window_size=8, inner_rank=8, num_tokens=16, mlp_ratio=2.0,
                                          upsampler="pixelshuffledirect", img_range=1.0)).cuda().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x = torch.rand(1, 3, 40, 56, device="cuda")
    with exact_fp32(), torch.inference_mode():
        expected = net(x)
        model = wrap_module(net, arch="mambairv2", device=torch.device("cuda"), compile=True, cuda_graphs=False)
        got = model.module(x)
    assert model.extra["aligned_channels"] is True
    assert net.layers[0].residual_group.layers[0].wqkv.out_features == 3 * 3 * 16
    rel = ((got - expected).norm() / expected.norm()).item()
    assert rel < 1e-5, rel


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_compiled_mambairv2_in_bf16_batches_routes_as_uncompiled():
    """Four different images in one compiled bf16 pass come out as one at a time (compiled MambaIRv2 Base
    drifted in batches of four 192x256 tiles, so the engine runs it one tile per pass; this small network
    is the CI-sized guard that batching itself is sound)."""
    from restore_cli.engine.model import wrap_module

    torch.manual_seed(0)
    net = from_official("MambaIRv2", dict(upscale=2, embed_dim=30, depths=[2, 2], num_heads=[3, 5], d_state=8,
                                          window_size=8, inner_rank=8, num_tokens=16, mlp_ratio=2.0,
                                          upsampler="pixelshuffledirect", img_range=1.0)).cuda().eval()
    x = torch.rand(4, 3, 40, 56, device="cuda")
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        wrap_module(net, arch="mambairv2", device=torch.device("cuda"), compile=True, cuda_graphs=False)
        expected = torch.cat([net(x[i : i + 1]) for i in range(4)]).float()  # compiled, one at a time
        batched = net(x).float()
    for i in range(4):
        rel = ((batched[i] - expected[i]).norm() / expected[i].norm()).item()
        assert rel < 2e-3, (i, rel)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_autotuned_blocks_match_eager_on_cuda_in_bf16():
    """``--autotune`` (Triton GEMM templates with fused neighbours) computes what the uncompiled light blocks
    compute, to bf16 rounding."""
    from restore_cli.engine.compile import AUTOTUNE_MODE

    net = _small_mambair("pixelshuffledirect").cuda()
    x = torch.rand(1, 3, 24, 32, device="cuda")
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        expected = net(x).float()
        torch._dynamo.reset()
        assert compile_blocks(net, mode=AUTOTUNE_MODE) > 0
        got = net(x).float()
    rel = ((got - expected).norm() / expected.norm()).item()
    assert rel < 3e-3, rel

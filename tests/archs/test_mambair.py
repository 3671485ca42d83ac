"""MambaIR v1 (restore_cli.archs.mambair): scan routing, tiny-config shapes, state_dict round trip.

Parity with the official outputs is in test_parity.py and the released layouts in test_layouts.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch

from restore_cli.archs import from_official
from restore_cli.archs.mambair import RELEASED_CONFIGS, SS2D, cross_merge, cross_scan


def tiny(**overrides: object) -> dict[str, object]:
    """A tiny v1 config (official kwarg spelling), fast enough for the reference scan."""
    kwargs: dict[str, object] = {
        "img_size": 64, "in_chans": 3, "embed_dim": 30, "depths": [1, 1], "d_state": 4, "mlp_ratio": 2.0,
        "upscale": 2, "upsampler": "pixelshuffle", "img_range": 1.0, "resi_connection": "1conv",
        "drop_path_rate": 0.1, "use_checkpoint": False, "patch_size": 1,
    }
    kwargs.update(overrides)
    return kwargs


VARIANTS = {
    "sr_x2": tiny(upscale=2),
    "sr_x3": tiny(upscale=3),
    "sr_x4": tiny(upscale=4),
    "light_x3": tiny(upscale=3, upsampler="pixelshuffledirect", mlp_ratio=1.2),
    "dn_color": tiny(upscale=1, upsampler="", mlp_ratio=1.2),
    "car_gray": tiny(upscale=1, upsampler="", in_chans=1, mlp_ratio=1.2),
}


def test_cross_scan_directions() -> None:
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    xs = cross_scan(x)
    assert xs.shape == (2, 4, 3, 20)
    assert torch.equal(xs[:, 0], x.flatten(2))  # row-major
    assert torch.equal(xs[:, 1], x.transpose(2, 3).flatten(2))  # column-major
    assert torch.equal(xs[:, 2], xs[:, 0].flip(-1))
    assert torch.equal(xs[:, 3], xs[:, 1].flip(-1))


def test_cross_merge_inverts_cross_scan() -> None:
    x = torch.randn(2, 3, 5, 7)
    assert torch.allclose(cross_merge(cross_scan(x), 5, 7), 4 * x.flatten(2))
    # each direction routed back separately lands on the same pixel
    for k in range(4):
        only = torch.zeros(2, 4, 3, 35)
        only[:, k] = cross_scan(x)[:, k]
        assert torch.equal(cross_merge(only, 5, 7), x.flatten(2))


def test_cross_merge_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="cross_merge"):
        cross_merge(torch.zeros(1, 4, 3, 10), 3, 4)


def test_ss2d_shapes_and_layout() -> None:
    m = SS2D(d_model=20, d_state=5, expand=1.5)
    assert (m.d_inner, m.dt_rank) == (30, 2)  # dt_rank from d_model, not d_inner
    assert m.x_proj_weight.shape == (4, 2 + 10, 30)
    assert m.A_logs.shape == (120, 5) and m.Ds.shape == (120,)
    with torch.no_grad():
        y = m(torch.randn(2, 3, 5, 20))
    assert y.shape == (2, 3, 5, 20) and torch.isfinite(y).all()


@pytest.mark.parametrize("name", list(VARIANTS))
@pytest.mark.parametrize("size", [(7, 5), (1, 3)])
def test_tiny_variants_shape(name: str, size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = from_official("MambaIR", VARIANTS[name])
    assert not model.training
    c = int(VARIANTS[name]["in_chans"])  # type: ignore[call-overload]
    x = torch.rand(2, c, *size)
    with torch.no_grad():
        y = model(x)
    s = model.scale
    assert s == (int(VARIANTS[name]["upscale"]) if VARIANTS[name]["upsampler"] else 1)  # type: ignore[call-overload]
    assert y.shape == (2, c, size[0] * s, size[1] * s)
    assert torch.isfinite(y).all()


def test_light_sr_uses_light_cab() -> None:
    model = from_official("MambaIR", VARIANTS["light_x3"])
    keys = model.state_dict().keys()
    assert "layers.0.residual_group.blocks.0.conv_blk.cab.5.attention.1.weight" in keys
    assert "layers.0.residual_group.blocks.0.conv_blk.cab.4.weight" in keys
    normal = from_official("MambaIR", VARIANTS["sr_x2"]).state_dict().keys()
    assert "layers.0.residual_group.blocks.0.conv_blk.cab.3.attention.1.weight" in normal


def test_mean_not_in_state_dict_and_round_trip() -> None:
    torch.manual_seed(0)
    a = from_official("MambaIR", VARIANTS["sr_x2"])
    assert not any("mean" in k for k in a.state_dict())
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    torch.manual_seed(1)
    b = from_official("MambaIR", VARIANTS["sr_x2"])
    b.load_state_dict(torch.load(buf, weights_only=True), strict=True)
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


def test_3conv_and_no_patch_norm_build() -> None:
    model = from_official("MambaIR", tiny(resi_connection="3conv", patch_norm=False))
    keys = model.state_dict().keys()
    assert "layers.0.conv.4.weight" in keys and "conv_after_body.4.weight" in keys
    assert not any(k.startswith("patch_embed.") for k in keys)
    with torch.no_grad():
        assert model(torch.rand(1, 3, 4, 4)).shape == (1, 3, 8, 8)


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError, match="scale 5"):
        from_official("MambaIR", tiny(upscale=5))
    with pytest.raises(ValueError, match="nearest"):
        from_official("MambaIR", tiny(upscale=4, upsampler="nearest+conv"))
    with pytest.raises(ValueError, match="resi_connection"):
        from_official("MambaIR", tiny(resi_connection="2conv"))


def test_released_configs_match_official_layouts() -> None:
    official_layouts = json.loads((Path(__file__).parents[1] / "fixtures" / "official_layouts.json").read_text())
    for name, kwargs in RELEASED_CONFIGS.items():
        assert official_layouts[name]["official_class"] == "MambaIR"
        assert kwargs == official_layouts[name]["kwargs"], name
    v1 = {n for n, e in official_layouts.items() if e["official_class"] == "MambaIR"}
    assert v1 == set(RELEASED_CONFIGS)


def test_bfloat16_forward_runs() -> None:
    """The scan runs in float32 inside a reduced-precision model, as upstream; output keeps the dtype."""
    model = from_official("MambaIR", VARIANTS["sr_x2"]).to(torch.bfloat16)
    with torch.no_grad():
        y = model(torch.rand(1, 3, 5, 4, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16 and y.shape == (1, 3, 10, 8) and torch.isfinite(y.float()).all()


@pytest.mark.parametrize(("d_state", "expand"), [(16, 2.0), (10, 1.2), (3, 1.0)])
@pytest.mark.parametrize("split_in_proj", [False, True], ids=["one-in-proj", "split-in-proj"])
def test_ss2d_fused_path_equals_official_forward(d_state: float, expand: float, split_in_proj: bool,
                                                 monkeypatch) -> None:
    """The inference path (one reordered, padded projection; block-diagonal delta projection; channel-last
    scan; for many tokens ``in_proj`` as two GEMMs) computes the official SS2D (route-ordered copies)."""
    from restore_cli.archs import mambair

    if split_in_proj:
        monkeypatch.setattr(mambair, "SPLIT_IN_PROJ_ELEMENTS", 1)
    torch.manual_seed(d_state)
    ss2d = SS2D(d_model=20, d_state=d_state, expand=expand).eval()
    x = torch.randn(2, 5, 7, 20)
    with torch.no_grad():
        fused = ss2d.forward_fused(x)
        ss2d.fused_cross_scan = False
        official = ss2d(x)
    torch.testing.assert_close(fused, official, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("light", [False, True], ids=["normal", "light"])
def test_cab_compiled_form_computes_the_official_cab(light: bool) -> None:
    """``CAB.forward_compiled`` (channel-padded convs; a stencil for light's dilated depthwise conv) is the
    same function as the official layer stack, for channel counts that need padding and ones that do not."""
    from restore_cli.archs.mambair import CAB

    torch.manual_seed(0)
    for channels in (30, 48, 60):
        cab = CAB(channels, is_light_sr=light).double()
        for p in cab.parameters():  # biases too: padded channels must stay zero whatever they are
            torch.nn.init.normal_(p, std=0.3)
        x = torch.randn(2, channels, 9, 13, dtype=torch.float64)
        torch.testing.assert_close(cab.forward_compiled(x), cab.cab(x), rtol=1e-10, atol=1e-10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float32, 1e-5), (torch.bfloat16, 1e-2)], ids=str)
def test_light_cab_on_cuda_runs_its_depthwise_convs_on_tokens_and_computes_the_official_cab(dtype, tolerance):
    """Light CAB for CUDA inference (both depthwise convs by the token kernel, GELU fused), channels_last
    and plain inputs, against the official layer stack in float32."""
    from restore_cli.archs.mambair import CAB
    from restore_cli.engine.run import exact_fp32

    torch.manual_seed(0)
    cab = CAB(60, is_light_sr=True).cuda()
    for p in cab.parameters():
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(2, 60, 19, 45, device="cuda")
    with exact_fp32(), torch.inference_mode():  # no TF32 in the 1x1 convs
        expected = cab.cab(x)
        for image in (x, x.to(memory_format=torch.channels_last)):
            with torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
                got = cab(image)
            assert got.shape == expected.shape
            rel = ((got.float() - expected).norm() / expected.norm()).item()
            assert rel < tolerance, rel


@pytest.mark.parametrize(("kernel", "dilation"), [(3, 1), (3, 2), (5, 1)])
def test_depthwise_conv_stencil_equals_the_conv(kernel: int, dilation: int) -> None:
    from restore_cli.archs.layers import depthwise_conv_stencil

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(7, 7, kernel, padding=dilation * (kernel // 2), dilation=dilation, groups=7).double()
    x = torch.randn(2, 7, 6, 11, dtype=torch.float64)
    torch.testing.assert_close(depthwise_conv_stencil(x, conv), conv(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["sr_x4", "light_x3", "dn_color"])
def test_channels_last_head_matches_and_is_used(name: str) -> None:
    """The image-space convolutions on channels-last tensors (the CUDA half-precision default) give the
    result of the tensors' own layouts (the CPU's and float32's default)."""
    torch.manual_seed(0)
    model = from_official("MambaIR", VARIANTS[name])
    deep_features = model.forward_features
    model.forward_features = lambda first: deep_features(first).contiguous()  # an NCHW body
    seen: list[bool] = []
    model.conv_after_body.register_forward_hook(
        lambda _module, _args, out: seen.append(out.is_contiguous(memory_format=torch.channels_last)))
    x = torch.rand(1, 3, 12, 16)
    with torch.no_grad():
        nchw = model(x)
        model.head_channels_last = True
        channels_last = model(x)
    assert seen == [False, True]
    torch.testing.assert_close(channels_last, nchw, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_pixel_shuffle_keeps_channels_last_with_the_same_values(scale: int) -> None:
    """The classic head's shuffle returns F.pixel_shuffle's values, in the input's layout: channels-last in,
    channels-last out (so the next conv needs no conversion); channel-first as before."""
    from restore_cli.archs.layers import LayoutKeepingPixelShuffle, Upsample

    factor = 3 if scale == 3 else 2
    shuffle = LayoutKeepingPixelShuffle(factor)
    x = torch.randn(2, 8 * factor * factor, 5, 7)
    want = torch.nn.functional.pixel_shuffle(x, factor)
    got = shuffle(x.contiguous(memory_format=torch.channels_last))
    assert got.is_contiguous(memory_format=torch.channels_last) and not got.is_contiguous()
    assert torch.equal(got, want)
    assert shuffle(x).is_contiguous() and torch.equal(shuffle(x), want)
    head = Upsample(scale, 8)
    assert sum(isinstance(m, LayoutKeepingPixelShuffle) for m in head) == (2 if scale == 4 else 1)
    assert not list(LayoutKeepingPixelShuffle(2).state_dict())  # no parameters: official checkpoints load as before


def test_conv_input_width_pads_to_64_only_where_it_is_cheap() -> None:
    """The CAB's first 3x3 conv reads rows padded to a multiple of 64 (cuDNN's K tiles) only where that adds
    at most 1/16 to the 8-aligned width: MambaIR's 180 channels (184 -> 192), not UNet's 48 or 96."""
    from restore_cli.archs.mambair import CAB, conv_input_width

    assert [conv_input_width(c) for c in (180, 184, 60, 64, 96, 48, 120, 250)] == [192, 192, 64, 64, 96, 48, 120, 256]
    assert CAB(180).input_width() == 192
    assert CAB(180, is_light_sr=True).input_width() == 184  # its first layer is a GEMM: 8-aligned is enough

"""MambaIRv2 / MambaIRv2Light: official layouts, parity with the official outputs, routing, shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from restore_cli.archs import from_official
from restore_cli.archs.mambair_v2 import MambaIRv2, MambaIRv2Light, gumbel_one_hot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PARITY = FIXTURES / "parity"
V2_CLASSES = ("MambaIRv2", "MambaIRv2Light")
PARITY_CASES = ("v2_sr_x2", "v2_sr_x4_ws16", "v2light_x3", "v2_car_gray")

LAYOUTS: dict[str, Any] = json.loads((FIXTURES / "official_layouts.json").read_text())
V2_LAYOUTS = sorted(k for k, v in LAYOUTS.items() if v["official_class"] in V2_CLASSES)

TINY: dict[str, Any] = {
    "embed_dim": 24, "d_state": 4, "depths": [2], "num_heads": [2], "window_size": 4, "inner_rank": 6,
    "num_tokens": 10, "mlp_ratio": 2.0,
}


def _load_case(name: str) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    case = json.loads((PARITY / "cases.json").read_text())[name]
    model = from_official(case["official_class"], case["kwargs"])
    weights = load_file(PARITY / f"{name}.weights.safetensors")
    weights = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
    model.load_state_dict(weights, strict=True)
    return model, load_file(PARITY / f"{name}.io.safetensors")


def _perturbed(model: torch.nn.Module, seed: int = 0, std: float = 0.05) -> torch.nn.Module:
    """Move every parameter off its initial value so that all branches (scan, routing) matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * std)
    return model.eval()


def _tiny(cls: type[MambaIRv2] = MambaIRv2, **kwargs: Any) -> MambaIRv2:
    torch.manual_seed(0)
    return _perturbed(cls(**{**TINY, **kwargs}))  # type: ignore[return-value]


# -- layout ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", V2_LAYOUTS)
def test_official_layout(name: str) -> None:
    entry = LAYOUTS[name]
    with torch.device("meta"):
        model = from_official(entry["official_class"], entry["kwargs"])
    ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in model.state_dict().items()]
    assert ours == entry["state_dict"]  # same keys, shapes, dtypes and order
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == entry["params"]


def test_buffers_and_mean() -> None:
    model = MambaIRv2(**TINY)
    sd = model.state_dict()
    assert sd["relative_position_index_SA"].dtype == torch.int64
    assert sd["relative_position_index_SA"].shape == (16, 16)
    assert "mean" not in sd and not any(k.endswith("mean") for k in sd)


def test_from_official_ignores_unused_kwargs_and_rejects_ape() -> None:
    model = from_official("MambaIRv2", {**TINY, "img_size": 64, "patch_size": 1, "use_checkpoint": True,
                                        "ape": False, "drop_path_rate": 0.1})
    assert not model.training
    with pytest.raises(ValueError, match="ape"):
        MambaIRv2(**TINY, ape=True)


# -- parity ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PARITY_CASES)
def test_parity_with_official(name: str) -> None:
    model, io = _load_case(name)
    assert model.routing == "argmax"
    with torch.no_grad():
        out = model(io["input"])
    ref = io["output"]
    assert out.shape == ref.shape
    err = (out - ref).abs().max().item()
    assert err <= 1e-4 * max(1.0, ref.abs().max().item()), err


# -- routing ---------------------------------------------------------------------------------------


def test_gumbel_one_hot_matches_torch_draws() -> None:
    logits = torch.randn(2, 7, 5).log_softmax(-1)
    torch.manual_seed(123)
    ref = F.gumbel_softmax(logits, tau=1.0, hard=True, dim=-1)
    ours = gumbel_one_hot(logits, torch.Generator().manual_seed(123))
    assert torch.equal(ours, ref)
    torch.manual_seed(123)
    assert torch.equal(gumbel_one_hot(logits, None), ref)  # None: the global generator, as official


def test_argmax_routing_is_deterministic() -> None:
    model = _tiny()
    x = torch.rand(1, 3, 7, 5)
    with torch.no_grad():
        a = model(x)
        torch.manual_seed(999)  # the global RNG plays no part
        b = model(x)
    assert torch.equal(a, b)


def test_route_classes_under_autocast_are_the_argmax_of_float32_log_probabilities(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Under bf16 autocast the route's GEMMs run in bf16; argmax routing takes the class of the bf16 logits,
    which is the argmax of their float32 log-probabilities (LogSoftmax subtracts one number per token).
    Rounding the log-probabilities to bf16 instead (as CPU autocast would) ties the top ones, near -log T,
    for nearly every token, and the first would win: routing by rounding."""
    from restore_cli.archs import mambair_v2

    model = _tiny()
    assm = next(m for m in model.modules() if isinstance(m, mambair_v2.ASSM))
    seen = []
    assm.route[2].register_forward_hook(lambda m, args, out: seen.append(out))
    classes = []
    order = mambair_v2.stable_class_order
    monkeypatch.setattr(mambair_v2, "stable_class_order", lambda cls, t: classes.append(cls) or order(cls, t))
    x = torch.rand(2, 3, 7, 5)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model(x)
    logits = seen[0]
    assert logits.dtype == torch.bfloat16
    assert torch.equal(classes[0], torch.log_softmax(logits.float(), -1).argmax(-1))


def test_gumbel_log_probabilities_are_float32_under_autocast() -> None:
    from restore_cli.archs.mambair_v2 import ASSM

    model = _tiny()
    model.set_routing("gumbel", seed=0)
    assm = next(m for m in model.modules() if isinstance(m, ASSM))
    seen = []
    assm.route[2].register_forward_hook(lambda m, args, out: seen.append(out))
    assm.route[3].register_forward_hook(lambda m, args, out: seen.append(out))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model(torch.rand(2, 3, 7, 5))
    logits, log_probs = seen[:2]
    assert logits.dtype == torch.bfloat16 and log_probs.dtype == torch.float32
    torch.testing.assert_close(log_probs, torch.log_softmax(logits.float(), -1), rtol=0, atol=0)


def test_gumbel_routing_seeded() -> None:
    model = _tiny(num_tokens=16)
    x = torch.rand(1, 3, 8, 7)
    with torch.no_grad():
        argmax = model(x)
        model.set_routing("gumbel", seed=123)
        assert model.routing == "gumbel"
        a = model(x)
        model.set_routing("gumbel", seed=123)
        b = model(x)
        model.set_routing("gumbel", seed=124)
        c = model(x)
        model.set_routing("gumbel", generator=torch.Generator().manual_seed(123))
        d = model(x)
        model.set_routing("argmax")
        e = model(x)
    assert torch.equal(a, b)
    assert torch.equal(a, d)
    assert not torch.equal(a, c)
    assert not torch.equal(a, argmax)
    assert torch.equal(e, argmax)


def test_gumbel_constructor_and_errors() -> None:
    model = from_official("MambaIRv2", {**TINY, "routing": "gumbel", "routing_seed": 5})
    assert model.routing == "gumbel"
    with pytest.raises(ValueError, match="routing"):
        model.set_routing("noisy")
    with pytest.raises(ValueError, match="routing"):
        MambaIRv2(**TINY, routing="softmax")


def test_batch_items_are_independent() -> None:
    model = _tiny()
    x = torch.rand(2, 3, 7, 5)
    with torch.no_grad():
        both = model(x)
        single = torch.cat([model(x[:1]), model(x[1:])])
    torch.testing.assert_close(both, single, atol=1e-5, rtol=1e-5)


# -- shapes ----------------------------------------------------------------------------------------

SHAPE_CASES = [
    (MambaIRv2, {"upscale": 2, "upsampler": "pixelshuffle"}, (1, 3, 9, 6), 2),
    (MambaIRv2, {"upscale": 3, "upsampler": "pixelshuffle"}, (1, 3, 7, 5), 3),
    (MambaIRv2, {"upscale": 4, "upsampler": "pixelshuffle", "window_size": 16}, (1, 3, 3, 5), 4),
    (MambaIRv2Light, {"upscale": 3, "upsampler": "pixelshuffledirect", "mlp_ratio": 1.0}, (2, 3, 5, 7), 3),
    (MambaIRv2, {"upscale": 1, "in_chans": 1}, (1, 1, 9, 2), 1),
    (MambaIRv2, {"upscale": 4, "upsampler": "nearest+conv", "resi_connection": "3conv"}, (1, 3, 6, 9), 4),
    (MambaIRv2Light, {"upscale": 1, "in_chans": 3, "qkv_bias": False}, (1, 3, 1, 1), 1),
]


@pytest.mark.parametrize(("cls", "kwargs", "shape", "scale"), SHAPE_CASES)
def test_shapes(cls: type[MambaIRv2], kwargs: dict[str, Any], shape: tuple[int, ...], scale: int) -> None:
    model = _tiny(cls, **kwargs)
    assert model.scale == scale
    x = torch.rand(shape)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (shape[0], shape[1], shape[2] * scale, shape[3] * scale)
    assert torch.isfinite(y).all()
    # state_dict round trip into a fresh model
    fresh = cls(**{**TINY, **kwargs}).eval()
    fresh.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.equal(fresh(x), y)


def test_mirror_pad_matches_official_crop() -> None:
    """Output on an image equals the crop of the output on its official mirror-padded canvas."""
    model = _tiny(upscale=2, upsampler="pixelshuffle")
    x = torch.rand(1, 3, 7, 5)
    canvas = torch.cat([x, torch.flip(x, [2])], 2)[:, :, :8]
    canvas = torch.cat([canvas, torch.flip(canvas, [3])], 3)[:, :, :, :8]
    with torch.no_grad():
        assert torch.equal(model(x), model(canvas)[..., :14, :10])


# -- channel-last inference path ---------------------------------------------------------------------


@pytest.mark.parametrize("name", PARITY_CASES)
def test_channel_last_path_matches_official(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CUDA inference path (tokens read in place by the convs and the scan), run here on the CPU.

    ``fast_path`` is forced on, so the same code runs with the depthwise reference, the chunked scan and
    the window-attention reference function in place of the Triton kernels (which the GPU tests check
    against those references): the layer's wiring of the attention kernel (bias, shift, projection) is
    checked here against the official outputs.
    """
    from restore_cli.archs import configure_scan, mambair_v2

    calls = []

    def forced(module: torch.nn.Module, x: torch.Tensor) -> bool:
        calls.append(type(module).__name__)
        return bool(module.fast_inference)

    monkeypatch.setattr(mambair_v2, "fast_path", forced)
    model, io = _load_case(name)
    with torch.no_grad():
        out = model(io["input"])
        configure_scan(model, fused_cross_scan=False)
        reference_path = model(io["input"])
    assert {"ASSM", "WindowAttention", "DWConv" if "light" not in name else "Gate"} <= set(calls)
    ref = io["output"]
    assert (out - ref).abs().max().item() <= 1e-4 * max(1.0, ref.abs().max().item())
    assert (out - reference_path).abs().max().item() <= 1e-5 * max(1.0, ref.abs().max().item())


def test_channel_last_path_keeps_seeded_gumbel_routing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Routing is drawn before the paths split, so a seeded Gumbel run gives the same output on both."""
    from restore_cli.archs import configure_scan, mambair_v2

    monkeypatch.setattr(mambair_v2, "fast_path", lambda module, x: bool(module.fast_inference))
    model = _tiny()
    x = torch.rand(1, 3, 9, 11)
    outputs = []
    for fused in (True, False):
        configure_scan(model, fused_cross_scan=fused)
        model.set_routing("gumbel", seed=3)
        with torch.no_grad():
            outputs.append(model(x))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-5, atol=1e-5)
    model.set_routing("gumbel", seed=4)
    with torch.no_grad():
        assert not torch.allclose(model(x), outputs[1])  # the draw matters, so the check above could fail


@pytest.mark.parametrize("name", ["v2_sr_x2", "v2light_x3"])
def test_chained_layers_match_official(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CUDA inference chain of layers (``AttentiveLayer.forward_chained``: each residual sum writes the
    next LayerNorm's rows, each half's skip added in its last sum, the routed branch read in its sorted
    order) run here on the CPU with the residual and LayerNorm references, against the official outputs
    and the layer's own forward."""
    from restore_cli.archs import mambair_v2

    monkeypatch.setattr(mambair_v2, "fast_path", lambda module, x: bool(module.fast_inference))
    model, io = _load_case(name)
    with torch.no_grad():
        unchained = model(io["input"])
    chained_calls = []
    original = mambair_v2.AttentiveLayer.forward_chained

    def counted(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        chained_calls.append(kwargs["next_norm"] is not None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(mambair_v2.AttentiveLayer, "runs_chained", lambda self, x: True)
    monkeypatch.setattr(mambair_v2.AttentiveLayer, "forward_chained", counted)
    with torch.no_grad():
        out = model(io["input"])
    layers = sum(len(group.residual_group.layers) for group in model.layers)
    assert len(chained_calls) == layers and sum(chained_calls) == layers - len(model.layers)  # handoffs
    ref = io["output"]
    assert (out - ref).abs().max().item() <= 1e-4 * max(1.0, ref.abs().max().item())
    assert (out - unchained).abs().max().item() <= 1e-5 * max(1.0, ref.abs().max().item())


def test_sorted_branch_is_read_through_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the fast path the ASSM returns its output in the scan's sorted order and the row of each token in
    it, which ``forward`` gathers back: the rows are a real permutation here, so reading it unsorted fails."""
    from restore_cli.archs import mambair_v2

    monkeypatch.setattr(mambair_v2, "fast_path", lambda module, x: bool(module.fast_inference))
    model = _tiny()
    layer = model.layers[0].residual_group.layers[0]
    x = torch.randn(1, 64, 24)
    with torch.no_grad():
        y, rows = layer.assm.forward_sorted(layer.norm3(x), (8, 8), layer.embeddingA)
        folded = layer.assm(layer.norm3(x), (8, 8), layer.embeddingA)
    assert rows is not None and not torch.equal(rows[0], torch.arange(64))
    torch.testing.assert_close(y.gather(1, rows[:, :, None].expand_as(y)), folded)
    assert not torch.allclose(y, folded)


def test_folded_attention_bias_is_the_table_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window attention's bias, folded once, is the lookup of the network's own index buffer, and the
    fast path gives the same output with it."""
    from restore_cli.archs import mambair_v2
    from restore_cli.archs.layers import fold_inference_weights, folded_weight
    from restore_cli.ops.window_attention import attention_bias

    monkeypatch.setattr(mambair_v2, "fast_path", lambda module, x: bool(module.fast_inference))
    model = _tiny()
    x = torch.rand(1, 3, 9, 11)
    with torch.no_grad():
        expected = model(x)
        fold_inference_weights(model)
        got = model(x)
    mhsa = model.layers[0].residual_group.layers[1].win_mhsa
    want = attention_bias(mhsa.relative_position_bias_table, model.relative_position_index_SA)
    assert torch.equal(folded_weight(mhsa, "bias"), want)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


# -- aligned widths (GPU inference) -----------------------------------------------------------------


UNALIGNED = [
    {"embed_dim": 30, "depths": [2, 2], "num_heads": [3, 5], "upscale": 2, "upsampler": "pixelshuffledirect"},
    {"embed_dim": 30, "depths": [2], "num_heads": [6], "resi_connection": "3conv", "upscale": 1, "upsampler": ""},
]


@pytest.mark.parametrize("fast", [False, True], ids=["official-layout", "channel-last"])
@pytest.mark.parametrize("kwargs", UNALIGNED, ids=["sr-heads-3-5", "dn-3conv"])
def test_aligned_widths_compute_the_same_function(monkeypatch: pytest.MonkeyPatch, fast: bool,
                                                  kwargs: dict[str, Any]) -> None:
    """align_channels pads 30 channels to 32, 60 hidden to 64, heads of 10 / 6 to 16 / 8 (q, k, v each
    a multiple of 8), the route's 10 to 16; float64 outputs agree to rounding on both code paths."""
    import copy

    from restore_cli.archs import mambair_v2

    if fast:  # the channel-last branches, as on CUDA (their CPU backends)
        monkeypatch.setattr(mambair_v2, "fast_path", lambda module, x: bool(module.fast_inference))
    model = _tiny(**kwargs).double()
    x = torch.rand(1, 3, 9, 11, dtype=torch.float64)
    aligned = copy.deepcopy(model)
    assert aligned.align_channels() and not aligned.align_channels()  # once, then a no-op
    for name, module in aligned.named_modules():
        if isinstance(module, torch.nn.Linear) and not name.endswith("route.2"):  # (route.2: the classes)
            assert module.in_features % 8 == 0 and module.out_features % 8 == 0, name
    with torch.no_grad():
        expected, got = model(x), aligned(x)
    assert got.shape == expected.shape
    assert ((got - expected).abs().max() / expected.abs().max()).item() < 1e-12


def test_aligned_widths_chained_compute_the_same_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """The aligned body (176 of 174 channels, as MambaIRv2 Base) through the chained layers: the residual
    sums' LayerNorms take their statistics over the real channels only."""
    import copy

    from restore_cli.archs import mambair_v2

    monkeypatch.setattr(mambair_v2, "fast_path", lambda module, x: bool(module.fast_inference))
    model = _tiny(**UNALIGNED[0])
    x = torch.rand(1, 3, 9, 11)
    aligned = copy.deepcopy(model)
    assert aligned.align_channels()
    with torch.no_grad():
        expected = model(x)
        monkeypatch.setattr(mambair_v2.AttentiveLayer, "runs_chained", lambda self, x: True)
        got = aligned(x)
    assert ((got - expected).abs().max() / expected.abs().max()).item() < 1e-5


def test_aligned_layer_norm_is_the_layer_norm_of_the_real_channels() -> None:
    from restore_cli.archs.mambair_v2 import AlignedLayerNorm

    torch.manual_seed(0)
    norm = torch.nn.LayerNorm(30, dtype=torch.float64)
    torch.nn.init.normal_(norm.weight)
    torch.nn.init.normal_(norm.bias)
    x = torch.randn(4, 7, 30, dtype=torch.float64) * 3 + 5  # a mean far from zero
    padded = AlignedLayerNorm(norm, 32)(torch.nn.functional.pad(x, (0, 2)))
    torch.testing.assert_close(padded[..., :30], norm(x), rtol=1e-12, atol=1e-12)
    assert bool((padded[..., 30:] == 0).all())


def test_aligned_widths_leave_aligned_and_light_networks_alone() -> None:
    assert not _tiny().align_channels()  # 24 channels, 48 hidden: aligned already
    assert not _tiny(MambaIRv2Light, embed_dim=30, num_heads=[3]).align_channels()

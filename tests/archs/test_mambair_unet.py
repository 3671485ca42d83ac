"""MambaIRUNet (restore_cli.archs.mambair_unet): padding, tiny-config shapes, key layout.

Parity with the official output is in test_parity.py and the released layout in test_layouts.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from restore_cli.archs import from_official
from restore_cli.archs.mambair_unet import RELEASED_CONFIGS, MambaIRUNet, pad_to_multiple

TINY = {"dim": 30, "num_blocks": [1, 1, 1, 1], "mlp_ratio": 1.5, "num_refinement_blocks": 1,
        "bias": False, "dual_pixel_task": False, "drop_path_rate": 0.0}


@pytest.mark.parametrize(("h", "w"), [(16, 24), (13, 21), (9, 8), (3, 5), (1, 2)])
def test_pad_to_multiple(h: int, w: int) -> None:
    x = torch.rand(1, 2, h, w)
    padded, ph, pw = pad_to_multiple(x, 8)
    assert padded.shape[-2:] == (h + ph, w + pw)
    assert padded.shape[-2] % 8 == 0 and padded.shape[-1] % 8 == 0
    assert torch.equal(padded[..., :h, :w], x)
    if ph < h and pw < w:  # the official pad_test reflect pad applies: identical result
        assert torch.equal(padded, F.pad(x, (0, pw, 0, ph), mode="reflect"))


@pytest.fixture(scope="module")
def tiny_unet() -> MambaIRUNet:
    torch.manual_seed(0)
    model = from_official("MambaIRUNet", TINY)
    assert isinstance(model, MambaIRUNet) and not model.training
    return model


@pytest.mark.parametrize("size", [(16, 8), (13, 11), (5, 3)])
def test_any_size(tiny_unet: MambaIRUNet, size: tuple[int, int]) -> None:
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        y = tiny_unet(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_forward_is_official_pad_test(tiny_unet: MambaIRUNet) -> None:
    x = torch.rand(1, 3, 10, 13)
    with torch.no_grad():
        y = tiny_unet(x)
        ref = tiny_unet.forward_unpadded(F.pad(x, (0, 3, 0, 6), mode="reflect"))[..., :10, :13]
    assert torch.equal(y, ref)


def test_unpadded_rejects_bad_size(tiny_unet: MambaIRUNet) -> None:
    with pytest.raises(ValueError, match="divisible by 8"):
        tiny_unet.forward_unpadded(torch.rand(1, 3, 12, 16))


def test_rejected_options() -> None:
    with pytest.raises(ValueError, match="dual_pixel_task"):
        from_official("MambaIRUNet", {**TINY, "dual_pixel_task": True})
    with pytest.raises(ValueError, match="out_channels"):
        from_official("MambaIRUNet", {**TINY, "out_channels": 1})


def test_layout_details(tiny_unet: MambaIRUNet) -> None:
    sd = tiny_unet.state_dict()
    assert "patch_embed.proj.bias" not in sd  # upstream's embedding conv never has a bias
    assert sd["latent.0.self_attention.A_logs"].shape[1] == 16  # d_state 16 at every level
    assert sd["decoder_level1.0.ln_1.weight"].shape == (60,)  # level 1 decodes at 2C
    assert "encoder_level1.0.conv_blk.cab.3.attention.1.weight" in sd  # normal CAB


def test_released_config_matches_official_layouts() -> None:
    layouts = json.loads((Path(__file__).parents[1] / "fixtures" / "official_layouts.json").read_text())
    unet = {n for n, e in layouts.items() if e["official_class"] == "MambaIRUNet"}
    assert unet == set(RELEASED_CONFIGS)
    for name, kwargs in RELEASED_CONFIGS.items():
        assert layouts[name]["kwargs"] == kwargs

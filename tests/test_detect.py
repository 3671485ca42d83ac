"""Architecture detection from keys and shapes: exactly one family per official layout, exact kwargs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from restore_cli import detect
from restore_cli.errors import UnknownCheckpointError

FIXTURES = Path(__file__).parent / "fixtures"
LAYOUTS = json.loads((FIXTURES / "official_layouts.json").read_text())
CASES = json.loads((FIXTURES / "parity" / "cases.json").read_text())

FAMILY_OF = {  # expected detector per layout entry
    "mambair_lightsr": "MambaIR light", "mambairv2_lightsr": "MambaIRv2Light", "mambair_realdn": "MambaIRUNet",
    "mambairv2": "MambaIRv2", "mambair": "MambaIR",
}


def zero_state(name: str) -> dict[str, torch.Tensor]:
    """A state dict with the layout's keys and shapes and no storage (meta tensors): no model needed."""
    return {k: torch.empty(shape, device="meta") for k, shape, _ in LAYOUTS[name]["state_dict"]}


def expected_family(name: str) -> str:
    return next(family for prefix, family in FAMILY_OF.items() if name.startswith(prefix))


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_exactly_one_detector_matches_each_official_layout(name):
    sd = zero_state(name)
    hits = detect.matching_detectors(sd)
    assert [d.family for d in hits] == [expected_family(name)]


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_inferred_kwargs_equal_the_official_ones(name):
    entry = LAYOUTS[name]
    class_name, kwargs = detect.infer_config(zero_state(name))
    assert class_name == entry["official_class"]
    assert detect.normalize_kwargs(class_name, kwargs) == detect.normalize_kwargs(class_name, entry["kwargs"])
    # every inferred key is an official constructor argument spelled as the configs spell it
    assert set(kwargs) - set(entry["kwargs"]) <= {"upsampler", "inp_channels", "out_channels", "convffn_kernel_size"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_parity_fixture_weights_are_detected(case):
    from safetensors.torch import load_file

    sd = load_file(str(FIXTURES / "parity" / f"{case}.weights.safetensors"))
    class_name, kwargs = detect.infer_config(sd)
    official = CASES[case]
    assert class_name == official["official_class"]
    assert detect.normalize_kwargs(class_name, kwargs) == detect.normalize_kwargs(class_name, official["kwargs"])


def test_inferred_kwargs_build_the_same_layout():
    pytest.importorskip("restore_cli.archs.mambair_v2")
    from restore_cli.archs import from_official
    from restore_cli.checkpoint import layout_of, layout_problems

    for name in ("mambairv2_lightsr_x3", "mambair_car_gray"):
        class_name, kwargs = detect.infer_config(zero_state(name))
        with torch.device("meta"):
            model = from_official(class_name, kwargs)
        assert layout_problems(layout_of(model), zero_state(name)) == []


def test_legacy_light_layout_is_explained():
    # pre-2024-10 light: full CAB (cab.0, cab.2, cab.3.attention) with the light head
    sd = zero_state("mambair_lightsr_x2")
    for key in [k for k in sd if ".conv_blk.cab." in k]:
        del sd[key]
    for i in range(4):
        for j in range(6):
            p = f"layers.{i}.residual_group.blocks.{j}.conv_blk.cab."
            sd[p + "0.weight"] = torch.empty(10, 60, 3, 3, device="meta")
            sd[p + "2.weight"] = torch.empty(60, 10, 3, 3, device="meta")
            sd[p + "3.attention.1.weight"] = torch.empty(2, 60, 1, 1, device="meta")
    assert [d.family for d in detect.matching_detectors(sd)] == ["MambaIR"]
    with pytest.raises(UnknownCheckpointError, match=r"before 2024-10.*mambair-light-x4"):
        detect.infer_config(sd)


def test_unknown_checkpoint_names_the_nearest_family():
    gan = {"conv0.weight": torch.empty(64, 3, 3, 3), "conv1.weight_orig": torch.empty(128, 64, 4, 4)}
    with pytest.raises(UnknownCheckpointError, match=r"match no known architecture.*conv0\.weight"):
        detect.infer_config(gan)
    partial = {k: v for k, v in zero_state("mambairv2_sr_small_x2").items() if "convffn" not in k}
    with pytest.raises(UnknownCheckpointError, match=r"nearest is MambaIRv2\b.*depthwise_conv"):
        detect.infer_config(partial)


def test_arch_assertion():
    sd = zero_state("mambair_sr_x4")
    assert detect.infer_config(sd, arch="MambaIR")[0] == "MambaIR"
    with pytest.raises(UnknownCheckpointError, match="not MambaIRv2; use --arch MambaIR"):
        detect.infer_config(sd, arch="MambaIRv2")


def test_module_prefix_free_and_scale_heads():
    cases = {"mambair_sr_x2": 2, "mambair_sr_x3": 3, "mambair_sr_x4": 4, "mambair_lightsr_x3": 3,
             "mambairv2_sr_large_x3": 3, "mambairv2_lightsr_x4": 4, "mambair_dn_color": 1}
    for name, scale in cases.items():
        assert detect.infer_config(zero_state(name))[1]["upscale"] == scale, name

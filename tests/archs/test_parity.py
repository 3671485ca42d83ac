"""Outputs equal the official models' on the parity fixtures (CPU, float32).

tests/fixtures/parity/cases.json lists small configurations of every official class; for each,
CASE.weights.safetensors holds official-layout weights (float16-representable, cast to float32 here)
and CASE.io.safetensors the input and the official output (computed by the official code with
mamba-ssm's reference scan; v2 with argmax routing and a stable sort, see the fixtures README).
Tolerance: max|ours - official| <= 1e-4 * max(1, max|official|). Families whose module is not
importable yet are skipped, not failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from restore_cli.archs import from_official, get_arch

PARITY = Path(__file__).parents[1] / "fixtures" / "parity"
CASES: dict[str, dict] = json.loads((PARITY / "cases.json").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_official_output(name: str) -> None:
    case = CASES[name]
    try:
        get_arch(case["official_class"])
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"{case['official_class']} is not implemented yet ({exc})")
    model = from_official(case["official_class"], case["kwargs"])
    weights = load_file(PARITY / f"{name}.weights.safetensors")
    weights = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
    model.load_state_dict(weights, strict=True)
    io = load_file(PARITY / f"{name}.io.safetensors")
    assert list(io["input"].shape) == case["input_shape"]
    with torch.no_grad():
        out = model(io["input"])
    expected = io["output"]
    assert list(out.shape) == case["output_shape"] == list(expected.shape)
    err = (out - expected).abs().max().item()
    tol = 1e-4 * max(1.0, expected.abs().max().item())
    assert err <= tol, f"{name}: max abs error {err:.3g} > {tol:.3g}"

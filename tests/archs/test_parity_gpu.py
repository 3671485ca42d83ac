"""Parity on a GPU: the fused CUDA path and bf16 mode against the official outputs (skipped on CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from restore_cli.archs import configure_scan, from_official

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parity"
CASES = json.loads((FIXTURES / "cases.json").read_text())


@pytest.fixture(autouse=True)
def no_tf32():
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def load(case: str):
    spec = CASES[case]
    model = from_official(spec["official_class"], spec["kwargs"])
    weights = load_file(FIXTURES / f"{case}.weights.safetensors")
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in weights.items()}
    model.load_state_dict(state, strict=True)
    io = load_file(FIXTURES / f"{case}.io.safetensors")
    return model.cuda().eval(), io["input"].cuda(), io["output"].cuda()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fused", [True, False])
def test_gpu_fp32_matches_official(case, fused):
    model, x, expected = load(case)
    configure_scan(model, fused_cross_scan=fused)
    with torch.inference_mode():
        out = model(x)
    assert (out - expected).abs().max().item() <= 1e-4 * max(1.0, expected.abs().max().item())


V2_CASES = sorted(c for c in CASES if c.startswith("v2"))


@pytest.mark.parametrize("case", V2_CASES)
def test_gpu_fp32_as_the_engine_wraps_it_matches_official(case, monkeypatch):
    """MambaIRv2 as the CLI runs it on CUDA: widths aligned to multiples of 8 where they are not (36
    channels -> 40), the layers chained (each residual pass writing the next LayerNorm's rows, the routed
    branch read in its sorted order; ``AttentiveLayer.forward_chained``), in float32."""
    from restore_cli.archs.mambair_v2 import AttentiveLayer
    from restore_cli.engine.model import wrap_module

    model, x, expected = load(case)
    chained = []
    original = AttentiveLayer.forward_chained

    def counted(self, *args, **kwargs):
        chained.append(1)
        return original(self, *args, **kwargs)

    wrapped = wrap_module(model, arch="MambaIRv2", device=torch.device("cuda"), cuda_graphs=False)
    assert wrapped.extra["aligned_channels"] == (CASES[case]["kwargs"]["embed_dim"] % 8 != 0)
    monkeypatch.setattr(AttentiveLayer, "forward_chained", counted)
    with torch.inference_mode():
        out = wrapped.module(x)
    assert len(chained) == sum(CASES[case]["kwargs"]["depths"])
    assert (out - expected).abs().max().item() <= 1e-4 * max(1.0, expected.abs().max().item())


@pytest.mark.parametrize("case", sorted(CASES))
def test_gpu_bf16_is_finite_and_close(case):
    model, x, expected = load(case)
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(x).float()
    assert torch.isfinite(out).all()
    # The fixtures amplify every branch (outputs up to ~7), so bf16 rounding shows more than on real weights:
    # the MambaIRv2 fixtures (bf16 attention over amplified logits, and an argmax routing that one rounding
    # can flip) measured 0.061-0.085 on an H100 and an H200, and 0.121 for v2light_x3 once the image-space
    # convolutions ran in float32 (another rounding, not a larger one), 0.201 with the window-attention
    # kernel (float32 logits: rounded differently, not less accurately). The official computation itself
    # gives 0.21 for v2light_x3 and 0.16 for v2_sr_x2 under the CPU's bf16 autocast
    # (tools/jobs/fixture_bf16_attention_numerics.py), so the v2 bound is a noise floor, not a property; the
    # others stay below 0.06. On seeded real-scale weights every model agrees to ~1e-3 (`restore bench`,
    # README's performance section), the check that matters.
    limit = 0.25 if case.startswith("v2") else 6e-2
    assert ((out - expected).norm() / expected.norm()).item() < limit

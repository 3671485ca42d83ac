"""What ACL and LAformer (unofficial re-implementations) share as U-Nets of linear attention: any input size
(reflect-pad and crop inside), gray variants, global residual, cost and memory linear in the pixel count, a
training step, gradient checkpointing, state_dict round trip, bf16. Each runs the ``tiny`` variant on the
CPU, except the MAC counts of the default configuration (meta device). Architecture-specific checks (size
against the paper, RELA's rank lifting) are in ``test_acl.py`` and ``test_laformer.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from restore_cli.archs import build, get_arch
from restore_cli.archs.acl import ACL, pad_to_multiple
from restore_cli.archs.laformer import LAformer
from restore_cli.ops.linear_attn.cost import count_macs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: max_numel
from max_numel import MaxNumel

ARCHS = {"ACL": ACL, "LAformer": LAformer}


@pytest.fixture(params=sorted(ARCHS))
def arch(request: pytest.FixtureRequest) -> str:
    return request.param


def tiny(arch: str, seed: int = 0, **overrides: object) -> nn.Module:
    torch.manual_seed(seed)
    return ARCHS[arch].variant("tiny", **overrides).eval()


def test_registry_builds_the_tiny_variant(arch: str) -> None:
    cls = ARCHS[arch]
    assert get_arch(arch) is cls
    assert isinstance(build(arch, **cls.VARIANTS["tiny"]), cls)
    with pytest.raises(ValueError, match=f"unknown {arch} variant"):
        cls.variant("huge")


@pytest.mark.parametrize("shape", [(1, 3, 17, 23), (2, 3, 8, 16), (1, 3, 5, 3), (1, 3, 1, 9), (1, 3, 33, 40)])
def test_any_size_same_shape_out(arch: str, shape: tuple[int, ...]) -> None:
    x = torch.rand(shape)
    with torch.no_grad():
        y = tiny(arch)(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


def test_grayscale_variant(arch: str) -> None:
    with torch.no_grad():
        y = tiny(arch, inp_channels=1, out_channels=1)(torch.rand(1, 1, 12, 10))
    assert y.shape == (1, 1, 12, 10)


def test_padding_is_reflect_then_cropped(arch: str) -> None:
    x = torch.rand(1, 3, 13, 19)
    padded = pad_to_multiple(x, 8)
    assert padded.shape[-2:] == (16, 24)
    torch.testing.assert_close(padded[..., :13, :19], x)
    torch.testing.assert_close(padded[..., 13, :19], x[..., 11, :])  # reflect: row 13 mirrors row 11
    assert pad_to_multiple(torch.rand(1, 3, 3, 2), 8).shape[-2:] == (8, 8)  # too small to reflect: replicate
    m = tiny(arch)
    with torch.no_grad():
        torch.testing.assert_close(m(x), m(padded)[..., :13, :19], rtol=1e-5, atol=1e-6)


def test_global_residual_identity_when_head_is_zero(arch: str) -> None:
    m = tiny(arch)
    with torch.no_grad():
        m.output.weight.zero_()
        x = torch.rand(1, 3, 11, 14)
        assert torch.equal(m(x), x)


@pytest.mark.parametrize("variant", ["tiny", "default"])
def test_cost_is_linear_in_pixels(arch: str, variant: str) -> None:
    if variant == "default":
        with torch.device("meta"):
            m = build(arch)
    else:
        m = tiny(arch)
    ratio = count_macs(m, (1, 3, 128, 128)) / count_macs(m, (1, 3, 64, 64))
    assert ratio == pytest.approx(4.0, rel=0.01)  # quadratic attention would be ~16


def test_memory_is_linear_in_pixels(arch: str) -> None:
    m = tiny(arch)
    peaks = []
    for size in (32, 64):
        with torch.no_grad(), MaxNumel() as mode:
            m(torch.rand(1, 3, size, size))
        peaks.append(mode.max_numel)
    assert peaks[1] == 4 * peaks[0]


def test_one_training_step_updates_every_parameter(arch: str) -> None:
    m = tiny(arch).train()
    opt = torch.optim.SGD(m.parameters(), lr=1e-2)
    x, target = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    loss = (m(x) - target).abs().mean()
    loss.backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    opt.step()
    with torch.no_grad():
        assert (m(x) - target).abs().mean() != loss


def test_gradient_checkpointing_gives_same_gradients(arch: str) -> None:
    x = torch.rand(1, 3, 16, 16)
    grads = []
    for use_checkpoint in (False, True):
        m = tiny(arch, seed=3, use_checkpoint=use_checkpoint).train()
        m(x).square().mean().backward()
        grads.append(m.patch_embed.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_state_dict_round_trip(arch: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src, dst = tiny(arch, seed=1), tiny(arch, seed=2)
    path = tmp_path / f"{arch}.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    dst.load_state_dict(load_file(str(path)), strict=True)
    x = torch.rand(1, 3, 9, 9)
    with torch.no_grad():
        assert torch.equal(src(x), dst(x))


def test_bf16_autocast_is_finite(arch: str) -> None:
    m = tiny(arch)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        y = m(torch.rand(1, 3, 16, 16))
    assert torch.isfinite(y.float()).all()

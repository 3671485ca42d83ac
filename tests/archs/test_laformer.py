"""LAformer (unofficial re-implementation): shapes at odd sizes, pad/crop, size budget, linear cost, training
step, state_dict round trip. Everything runs the ``tiny`` variant on the CPU except the size/MAC counts (meta)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.utils._python_dispatch import TorchDispatchMode

from restore_cli.archs import build, get_arch
from restore_cli.archs.acl import pad_to_multiple
from restore_cli.archs.laformer import RELA, VARIANTS, LAformer
from restore_cli.ops.linear_attn import linear_attention
from restore_cli.ops.linear_attn.cost import count_macs, count_params

BUDGET_PARAMS = 4.6e6  # no LAformer numbers are public; we hold it to ACL's published size


def tiny(seed: int = 0, **overrides: object) -> LAformer:
    torch.manual_seed(seed)
    return LAformer.variant("tiny", **overrides).eval()


def test_registry_builds_laformer() -> None:
    assert get_arch("LAformer") is LAformer
    assert isinstance(build("LAformer", **VARIANTS["tiny"]), LAformer)
    with pytest.raises(ValueError, match="unknown LAformer variant"):
        LAformer.variant("huge")


@pytest.mark.parametrize("shape", [(1, 3, 17, 23), (2, 3, 8, 16), (1, 3, 5, 3), (1, 3, 1, 9), (1, 3, 33, 40)])
def test_any_size_same_shape_out(shape: tuple[int, ...]) -> None:
    x = torch.rand(shape)
    with torch.no_grad():
        y = tiny()(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


def test_grayscale_variant() -> None:
    with torch.no_grad():
        y = tiny(inp_channels=1, out_channels=1)(torch.rand(1, 1, 12, 10))
    assert y.shape == (1, 1, 12, 10)


def test_padding_is_reflect_then_cropped() -> None:
    x = torch.rand(1, 3, 13, 19)
    padded = pad_to_multiple(x, 8)
    assert padded.shape[-2:] == (16, 24)
    torch.testing.assert_close(padded[..., :13, :19], x)
    torch.testing.assert_close(padded[..., 13, :19], x[..., 11, :])  # reflect: row 13 mirrors row 11
    assert pad_to_multiple(torch.rand(1, 3, 3, 2), 8).shape[-2:] == (8, 8)  # too small to reflect: replicate
    m = tiny()
    with torch.no_grad():
        torch.testing.assert_close(m(x), m(padded)[..., :13, :19], rtol=1e-5, atol=1e-6)


def test_global_residual_identity_when_head_is_zero() -> None:
    m = tiny()
    with torch.no_grad():
        m.output.weight.zero_()
        x = torch.rand(1, 3, 11, 14)
        assert torch.equal(m(x), x)


@pytest.fixture(scope="module")
def default_on_meta() -> LAformer:
    """The default configuration, built on the meta device: sizes and MACs without allocating weights."""
    with torch.device("meta"):
        return build("LAformer")


def test_default_size_near_published(default_on_meta: LAformer) -> None:
    m = default_on_meta
    params = count_params(m)
    assert abs(params / BUDGET_PARAMS - 1) < 0.15, params
    gmacs = count_macs(m, (1, 3, 256, 256)) / 1e9
    assert 30 < gmacs < 70, gmacs


def test_rank_enhancement_lifts_the_rank() -> None:
    """With q, k fixed, linear attention mixes tokens by an N x N map of rank <= head_dim; RELA adds its
    depthwise conv on V, a banded per-channel map, and the sum is full rank. Probe both with one-hot values."""
    torch.manual_seed(0)
    h = w = 8
    n, d = h * w, 4
    rela = RELA(8, head_dim=d, squeeze_factor=2)
    q, k = torch.randn(1, 1, n, d), torch.randn(1, 1, n, d)
    probes = torch.eye(n)  # column j = a value that is 1 at token j
    with torch.no_grad():
        attn_map = linear_attention(q, k, probes[None, None])[0, 0]  # (N, N): output token x probe
        conv = F.conv2d(probes.T.reshape(n, 1, h, w), rela.rank_conv.weight[:1], padding=2)
        conv_map = conv.reshape(n, n).T
    assert torch.linalg.matrix_rank(attn_map).item() <= d
    assert torch.linalg.matrix_rank(attn_map + conv_map).item() == n


@pytest.mark.parametrize("variant", ["tiny", "default"])
def test_cost_is_linear_in_pixels(variant: str, default_on_meta: LAformer) -> None:
    m = default_on_meta if variant == "default" else tiny()
    ratio = count_macs(m, (1, 3, 128, 128)) / count_macs(m, (1, 3, 64, 64))
    assert ratio == pytest.approx(4.0, rel=0.01)  # quadratic attention would be ~16


class MaxNumel(TorchDispatchMode):
    """Records the largest tensor any ATen op returns (an N x N attention map would dominate)."""

    def __init__(self) -> None:
        super().__init__()
        self.max_numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.max_numel = max(self.max_numel, t.numel())
        return out


def test_memory_is_linear_in_pixels() -> None:
    m = tiny()
    peaks = []
    for size in (32, 64):
        with torch.no_grad(), MaxNumel() as mode:
            m(torch.rand(1, 3, size, size))
        peaks.append(mode.max_numel)
    assert peaks[1] == 4 * peaks[0]


def test_one_training_step_updates_every_parameter() -> None:
    m = tiny().train()
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


def test_gradient_checkpointing_gives_same_gradients() -> None:
    x = torch.rand(1, 3, 16, 16)
    grads = []
    for use_checkpoint in (False, True):
        m = tiny(seed=3, use_checkpoint=use_checkpoint).train()
        m(x).square().mean().backward()
        grads.append(m.patch_embed.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_state_dict_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    src, dst = tiny(seed=1), tiny(seed=2)
    path = tmp_path / "laformer.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    dst.load_state_dict(load_file(str(path)), strict=True)
    x = torch.rand(1, 3, 9, 9)
    with torch.no_grad():
        assert torch.equal(src(x), dst(x))


def test_bf16_autocast_is_finite() -> None:
    m = tiny()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        y = m(torch.rand(1, 3, 16, 16))
    assert torch.isfinite(y.float()).all()

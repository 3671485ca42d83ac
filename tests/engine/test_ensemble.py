"""engine.ensemble: the 8 transforms invert exactly, follow BasicSR's order, and average correctly."""

from __future__ import annotations

import pytest
import torch

from restore_cli.engine.ensemble import NAMES, ensemble, transforms


def _x(h=5, w=7, n=2, c=3, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, c, h, w, generator=g).to(dtype)


def test_inverse_undoes_forward_on_non_square():
    x = _x()
    seen = set()
    for fwd, inv in transforms():
        y = fwd(x)
        assert torch.equal(inv(y), x)
        seen.add(tuple(y.flatten().tolist()))
    assert len(seen) == 8  # all variants differ


def test_order_matches_basicsr():
    """BasicSR test_selfensemble: [x, v, h, hv, t, tv, th, thv] by doubling with v, h, t in turn."""

    def op(v, name):
        if name == "v":
            return v.flip(-1)
        if name == "h":
            return v.flip(-2)
        return v.transpose(-2, -1)

    x = _x()
    expected = [x]
    for name in ("v", "h", "t"):
        expected.extend([op(t, name) for t in expected])
    assert len(NAMES) == 8
    for (fwd, _), want in zip(transforms(), expected, strict=True):
        assert torch.equal(fwd(x), want)


def test_inverse_of_model_output_with_scale():
    # A 2x nearest upscale commutes with flips/transposes, so every inverse(fn(forward(x))) is fn(x).
    def up(v):
        return v.repeat_interleave(2, -2).repeat_interleave(2, -1)

    x = _x(4, 9)
    for fwd, inv in transforms():
        assert torch.equal(inv(up(fwd(x))), up(x))


@pytest.mark.parametrize("batched", [False, True])
def test_equivariant_fn_is_unchanged(batched):
    x = _x(6, 11)
    calls = []

    def fn(v):
        calls.append(v.shape[0])
        return torch.sigmoid(v * 3 - 1).repeat_interleave(3, -1).repeat_interleave(3, -2)

    out = ensemble(fn, x, batched=batched)
    torch.testing.assert_close(out, fn(x), rtol=0, atol=1e-6)
    assert calls[:-1] == ([8, 8] if batched else [2] * 8)


def test_identity_and_averaging():
    x = _x(3, 8)
    torch.testing.assert_close(ensemble(lambda v: v, x), x, rtol=0, atol=1e-6)
    # A position-dependent fn is averaged over the 8 variants.
    ramp = torch.arange(8, dtype=torch.float32)

    def add_col(v):
        return v + ramp[: v.shape[-1]]

    out = ensemble(add_col, torch.zeros(1, 1, 8, 8))
    # each variant adds the ramp along rows or columns, flipped or not; the mean is 3.5 everywhere
    torch.testing.assert_close(out, torch.full((1, 1, 8, 8), 3.5))


def test_half_precision_accumulates_in_float32():
    x = _x(4, 4, dtype=torch.float16)
    out = ensemble(lambda v: v, x)
    assert out.dtype == torch.float16
    assert torch.equal(out, x)

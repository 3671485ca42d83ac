"""Window helpers against brute-force restatements of the official (Swin/MambaIRv2) definitions."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from restore_cli.archs.windows import (
    MASK_VALUE,
    padded_size,
    relative_position_index,
    shifted_window_mask,
    symmetric_pad,
    symmetric_pad_indices,
    window_partition,
    window_reverse,
)

PARITY = Path(__file__).resolve().parents[1] / "fixtures" / "parity"


@pytest.mark.parametrize(("b", "h", "w", "ws"), [(1, 8, 8, 4), (2, 8, 12, 4), (3, 6, 9, 3)])
def test_partition_order_and_roundtrip(b: int, h: int, w: int, ws: int) -> None:
    x = torch.randn(b, h, w, 5)
    win = window_partition(x, ws)
    n_wh, n_ww = h // ws, w // ws
    assert win.shape == (b * n_wh * n_ww, ws, ws, 5)
    # Batch outermost, then window row, then window column.
    for bi, r, c in itertools.product(range(b), range(n_wh), range(n_ww)):
        k = (bi * n_wh + r) * n_ww + c
        assert torch.equal(win[k], x[bi, r * ws:(r + 1) * ws, c * ws:(c + 1) * ws])
    assert torch.equal(window_reverse(win, ws, h, w), x)


def test_partition_rejects_unpadded() -> None:
    with pytest.raises(ValueError, match="multiple of the window size"):
        window_partition(torch.zeros(1, 7, 8, 1), 4)


@pytest.mark.parametrize("ws", [1, 2, 3, 8])
def test_relative_position_index_formula(ws: int) -> None:
    rpi = relative_position_index(ws)
    assert rpi.dtype == torch.int64 and rpi.shape == (ws * ws, ws * ws)
    for i, j in itertools.product(range(ws * ws), repeat=2):
        (yi, xi), (yj, xj) = divmod(i, ws), divmod(j, ws)
        assert rpi[i, j] == (yi - yj + ws - 1) * (2 * ws - 1) + (xi - xj + ws - 1)
    assert int(rpi.min()) == 0 and int(rpi.max()) == (2 * ws - 1) ** 2 - 1


@pytest.mark.parametrize(("case", "ws"), [("v2_sr_x2", 8), ("v2_sr_x4_ws16", 16)])
def test_relative_position_index_matches_checkpoint(case: str, ws: int) -> None:
    stored = load_file(PARITY / f"{case}.weights.safetensors")["relative_position_index_SA"]
    assert stored.dtype == torch.int64
    assert torch.equal(relative_position_index(ws), stored)


def _official_style_mask(h: int, w: int, ws: int) -> torch.Tensor:
    """Restatement of the official ``calculate_mask``: label 9 regions by slices, compare labels."""
    labels = torch.zeros(h, w)
    bands = (slice(0, -ws), slice(-ws, -(ws // 2)), slice(-(ws // 2), None))
    for cnt, (hs, wsl) in enumerate(itertools.product(bands, bands)):
        labels[hs, wsl] = cnt
    flat = window_partition(labels[None, :, :, None], ws).reshape(-1, ws * ws)
    diff = flat[:, None, :] - flat[:, :, None]
    return torch.where(diff != 0, torch.tensor(MASK_VALUE), torch.tensor(0.0))


@pytest.mark.parametrize(("h", "w", "ws"), [(8, 8, 8), (16, 24, 8), (32, 16, 16), (12, 18, 6), (9, 6, 3)])
def test_shifted_window_mask(h: int, w: int, ws: int) -> None:
    mask = shifted_window_mask(h, w, ws)
    assert mask.shape == ((h // ws) * (w // ws), ws * ws, ws * ws)
    assert mask.dtype == torch.float32
    assert torch.equal(mask, _official_style_mask(h, w, ws))
    # Interior windows (not on the last window row/column) see one region only.
    n_ww = w // ws
    for k in range(mask.shape[0]):
        r, c = divmod(k, n_ww)
        if r < h // ws - 1 and c < n_ww - 1:
            assert not mask[k].any()
    assert torch.equal(mask, mask.transpose(1, 2))


def test_padded_size() -> None:
    assert [padded_size(n, 8) for n in (1, 7, 8, 9, 16, 17)] == [8, 8, 8, 16, 16, 24]


@pytest.mark.parametrize("n", range(1, 13))
def test_symmetric_pad_matches_official_when_official_works(n: int) -> None:
    for target in range(n, 2 * n + 1):  # the official cat/flip handles pads up to n
        x = torch.arange(float(n))
        official = torch.cat([x, torch.flip(x, [0])])[:target]
        assert torch.equal(x[symmetric_pad_indices(n, target)], official)


def test_symmetric_pad_repeats_for_tiny_sides() -> None:
    assert symmetric_pad_indices(1, 5).tolist() == [0, 0, 0, 0, 0]
    assert symmetric_pad_indices(3, 16).tolist() == [0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2]
    with pytest.raises(ValueError):
        symmetric_pad_indices(0, 4)


def test_symmetric_pad_image() -> None:
    x = torch.rand(2, 3, 5, 7)
    y = symmetric_pad(x, 8, 8)
    assert y.shape == (2, 3, 8, 8)
    official = torch.cat([x, torch.flip(x, [2])], 2)[:, :, :8]
    official = torch.cat([official, torch.flip(official, [3])], 3)[:, :, :, :8]
    assert torch.equal(y, official)
    assert symmetric_pad(x, 5, 7) is x
    tiny = symmetric_pad(torch.rand(1, 1, 3, 5), 16, 16)
    assert tiny.shape == (1, 1, 16, 16)

"""engine.tiling: exhaustive checks of tile plans and windows on small sizes, official partition parity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from restore_cli.engine.tiling import (
    BlendCanvas,
    balanced_length,
    blend,
    official_partition,
    plan_tiles,
    tile_window,
)


def _axis(tiles, axis):
    """The distinct 1-D spans of a plan along one axis (0 = rows, 1 = cols)."""
    spans = {(t.y0, t.y1, t.ramps_y) if axis == 0 else (t.x0, t.x1, t.ramps_x) for t in tiles}
    return sorted(spans)


def test_exhaustive_1d_plans():
    """Coverage, sizes, overlap and the partition of unity for every small (n, tile, overlap, scale)."""
    from restore_cli.engine.tiling import _window_1d

    for n in range(1, 33):
        for tile in range(1, 14):
            for overlap in range(tile):
                spans = _axis(plan_tiles(n, 1, tile, overlap), 0)
                starts = [s for s, _, _ in spans]
                if tile >= n:
                    assert [(s, e) for s, e, _ in spans] == [(0, n)]
                else:
                    count, length = len(spans), spans[0][1] - spans[0][0]
                    assert all(e - s == length for s, e, _ in spans), (n, tile, overlap)  # one size
                    assert starts[0] == 0 and spans[-1][1] == n
                    for (_, e0, _), (s1, _, _) in itertools.pairwise(spans):
                        assert e0 - s1 >= overlap, (n, tile, overlap)  # overlap at least as asked
                    # minimal: one tile fewer, even of the full `tile`, could not reach the end
                    assert (count - 1) * (tile - overlap) + overlap < n
                    # balanced: the least length that covers, rounded up to 8 within `tile`
                    least = next(k for k in range(1, tile + 1) if count * (k - overlap) + overlap >= n)
                    assert length == min(tile, -(-least // 8) * 8) == balanced_length(n, tile, overlap)
                for scale in (1, 3) if n % 4 == 0 else (1,):
                    total = np.zeros(n * scale)
                    for s, e, r in spans:
                        w = _window_1d(s, e, r, scale)
                        assert w.shape == ((e - s) * scale,)
                        assert (w >= 0).all() and (w <= 1).all()
                        total[s * scale : e * scale] += w
                    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-12, err_msg=str((n, tile, overlap)))


@pytest.mark.parametrize("h,w,tile,overlap,scale", [
    (5, 7, 3, 1, 1), (5, 7, 3, 2, 2), (16, 16, 16, 4, 2), (23, 9, 8, 3, 3), (40, 33, 12, 5, 1), (7, 30, 8, 0, 2),
])
def test_2d_windows_are_partition_of_unity(h, w, tile, overlap, scale):
    tiles = plan_tiles(h, w, tile, overlap)
    total = np.zeros((h * scale, w * scale), np.float64)
    covered = np.zeros((h, w), bool)
    for t in tiles:
        assert t.y1 - t.y0 <= tile and t.x1 - t.x0 <= tile
        covered[t.y0 : t.y1, t.x0 : t.x1] = True
        win = tile_window(t, scale, np.float64)
        assert win.shape == ((t.y1 - t.y0) * scale, (t.x1 - t.x0) * scale)
        ys, xs = t.out_rect(scale).slices
        total[ys, xs] += win
    assert covered.all()
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-12)


def test_borders_are_flat_and_ramps_smooth():
    tiles = plan_tiles(64, 64, 32, 8)
    assert [(t.y0, t.y1) for t in tiles[::3]] == [(0, 32), (16, 48), (32, 64)]  # 3 x 3, stride 16
    first = tile_window(tiles[0], 1, np.float64)
    row = first[0]
    assert (first[:20, 0] == 1.0).all() and (row[:20] == 1.0).all()  # flat towards the image border
    # the seam ramp is monotone, 8 px wide and centred in the 16 px overlap [16, 32): pixels 20..27
    assert (np.diff(row) <= 0).all()
    assert (row[20:28] > 0).all() and (row[20:28] < 1).all() and (row[28:] == 0).all()
    np.testing.assert_allclose(row[20:28] + row[20:28][::-1], 1.0, atol=1e-15)  # symmetric cross-fade


def test_tile_covering_image_gives_one_tile():
    for tile in (10, 11, 50):
        (t,) = plan_tiles(10, 10, tile, 3)
        assert (t.y0, t.y1, t.x0, t.x1) == (0, 10, 0, 10)
        np.testing.assert_array_equal(tile_window(t, 2), np.ones((20, 20), np.float32))
    (t,) = plan_tiles(13, 21, None)
    assert (t.y1, t.x1) == (13, 21)
    assert len(plan_tiles(10, 30, 12, 2)) == 3  # split only along the long axis


def test_plan_validation():
    for args in [(0, 5, 4, 1), (5, 5, 0, 0), (5, 5, 4, 4), (5, 5, 4, -1)]:
        with pytest.raises(ValueError):
            plan_tiles(*args)


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_blend_reconstructs_a_pointwise_model(scale):
    """A per-pixel 'model' (nearest upscale of a function) must come back exactly, with no seams."""
    rng = np.random.default_rng(0)
    img = rng.random((3, 37, 29)).astype(np.float32)
    tiles = plan_tiles(37, 29, 16, 5)

    def model(x):
        return np.repeat(np.repeat(x * 0.5 + 0.25, scale, axis=1), scale, axis=2)

    outs = [model(img[:, t.y0 : t.y1, t.x0 : t.x1]) for t in tiles]
    np.testing.assert_allclose(blend(tiles, outs, 37, 29, scale), model(img), atol=2e-6)
    canvas = BlendCanvas(37, 29, 3, scale)
    for t, o in zip(tiles, outs, strict=True):
        canvas.add(t, o)
    np.testing.assert_allclose(canvas.image, model(img), atol=2e-6)


# ------------------------------------------------------------------------------ official partition


def _official_reference(img: np.ndarray, net, scale: int) -> np.ndarray:
    """A direct transcription of MambaIRModel.test() (csguoh/MambaIR) on an H x W numpy image."""
    h, w = img.shape
    split_token_h = h // 200 + 1
    split_token_w = w // 200 + 1
    mod_pad_h = split_token_h - h % split_token_h if h % split_token_h != 0 else 0
    mod_pad_w = split_token_w - w % split_token_w if w % split_token_w != 0 else 0
    img = np.pad(img, ((0, mod_pad_h), (0, mod_pad_w)), mode="reflect")
    H, W = img.shape
    split_h, split_w = H // split_token_h, W // split_token_w
    shave_h, shave_w = split_h // 10, split_w // 10
    ral, row = H // split_h, W // split_w
    slices = []
    for i in range(ral):
        for j in range(row):
            if i == 0 and i == ral - 1:
                top = slice(i * split_h, (i + 1) * split_h)
            elif i == 0:
                top = slice(i * split_h, (i + 1) * split_h + shave_h)
            elif i == ral - 1:
                top = slice(i * split_h - shave_h, (i + 1) * split_h)
            else:
                top = slice(i * split_h - shave_h, (i + 1) * split_h + shave_h)
            if j == 0 and j == row - 1:
                left = slice(j * split_w, (j + 1) * split_w)
            elif j == 0:
                left = slice(j * split_w, (j + 1) * split_w + shave_w)
            elif j == row - 1:
                left = slice(j * split_w - shave_w, (j + 1) * split_w)
            else:
                left = slice(j * split_w - shave_w, (j + 1) * split_w + shave_w)
            slices.append((top, left))
    outputs = [net(img[top, left]) for top, left in slices]
    out = np.zeros((H * scale, W * scale))
    for i in range(ral):
        for j in range(row):
            top = slice(i * split_h * scale, (i + 1) * split_h * scale)
            left = slice(j * split_w * scale, (j + 1) * split_w * scale)
            _top = slice(0, split_h * scale) if i == 0 else slice(shave_h * scale, (shave_h + split_h) * scale)
            _left = slice(0, split_w * scale) if j == 0 else slice(shave_w * scale, (shave_w + split_w) * scale)
            out[top, left] = outputs[i * row + j][_top, _left]
    return out[: H * scale - mod_pad_h * scale, : W * scale - mod_pad_w * scale]


def _position_aware_net(scale):
    """Not translation-equivariant (adds each pixel's row/col inside the piece), so any crop error shows."""

    def net(x):
        up = np.repeat(np.repeat(x, scale, 0), scale, 1)
        r = np.arange(up.shape[0])[:, None] * 1e-3
        c = np.arange(up.shape[1])[None, :] * 1e-6
        return up + r + c

    return net


@pytest.mark.parametrize("h,w", [(1, 1), (13, 199), (200, 200), (256, 256), (401, 603), (599, 215)])
@pytest.mark.parametrize("scale", [1, 2, 4])
def test_official_partition_matches_reference(h, w, scale):
    img = np.random.default_rng(h * 1000 + w).random((h, w))
    net = _position_aware_net(scale)
    plan = official_partition(h, w, scale)
    padded = np.pad(img, ((0, plan.pad_bottom), (0, plan.pad_right)), mode="reflect")
    assert padded.shape == (plan.padded_h, plan.padded_w)
    canvas = np.zeros((plan.padded_h * scale, plan.padded_w * scale))
    for piece in plan.pieces:
        out = net(padded[piece.crop.slices])
        canvas[piece.dst.slices] = out[piece.src.slices]
    ours = canvas[: plan.out_h, : plan.out_w]
    np.testing.assert_array_equal(ours, _official_reference(img, net, scale))


def test_official_partition_documented_example():
    # "a 256 px side becomes 2 tiles of 128 + 12 px"
    plan = official_partition(256, 100)
    assert (plan.pad_bottom, plan.pad_right) == (0, 0)
    crops = sorted({(p.crop.y0, p.crop.y1) for p in plan.pieces})
    assert crops == [(0, 140), (116, 256)]
    assert len(plan.pieces) == 2
    plan = official_partition(401, 603)  # 3 x 4 pieces, pads 1 row and 1 column
    assert (plan.pad_bottom, plan.pad_right, len(plan.pieces)) == (1, 1, 12)


def test_balanced_tiles_do_less_work_with_the_same_count():
    """4K at x4 (540x960 input) in tiles of 270, overlap 32: 12 tiles either way, 25% fewer pixels."""
    tiles = plan_tiles(540, 960, 270, 32)
    assert len(tiles) == 12 and {(t.rect.height, t.rect.width) for t in tiles} == {(208, 264)}
    assert sum(t.rect.height * t.rect.width for t in tiles) < 0.76 * 12 * 270 * 270

"""Degradations: MATLAB-exact bicubic resize, noise, JPEG, rain, motion blur, spec parsing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from restore_cli import degrade as D
from restore_cli.errors import UsageError

# ---------------------------------------------------------------------------------------------
# imresize


def _naive_cubic(x: float) -> float:
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax**3 - 2.5 * ax**2 + 1
    if ax <= 2:
        return -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
    return 0.0


def _naive_resize_1d(v: np.ndarray, scale: float, out_len: int) -> np.ndarray:
    """MATLAB imresize along one axis, written per output pixel straight from imresize.m's formulas."""
    n = len(v)
    width = 4.0 / scale if scale < 1 else 4.0
    out = np.zeros(out_len)
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = [left + k for k in range(math.ceil(width) + 2)]
        if scale < 1:
            ws = [scale * _naive_cubic(scale * (u - j)) for j in taps]
        else:
            ws = [_naive_cubic(u - j) for j in taps]
        total = sum(ws)
        acc = 0.0
        for j, wj in zip(taps, ws, strict=True):
            # symmetric padding with edge repeat, 1-based: 0 -> 1, -1 -> 2, n+1 -> n, n+2 -> n-1
            i = j
            while i < 1 or i > n:
                i = 1 - i if i < 1 else 2 * n + 1 - i
            acc += wj / total * v[i - 1]
        out[x - 1] = acc
    return out


def test_hand_computed_upscale_x2():
    # u = 0.75 for the first output pixel: taps cubic(1.75), cubic(0.75), cubic(0.25), cubic(1.25)
    # = -0.0234375, 0.2265625, 0.8671875, -0.0703125; taps 0 and -1 mirror onto pixels 1 and 2.
    out = D.imresize(np.array([[0.0, 1.0]]), out_shape=(1, 4))
    np.testing.assert_allclose(out[0], [-0.09375, 0.203125, 0.796875, 1.09375], atol=1e-7)


@pytest.mark.parametrize("n,scale", [(12, 0.5), (13, 1 / 3), (16, 0.25), (7, 2.0), (5, 3.0), (11, 0.7), (9, 1.5)])
def test_matches_naive_implementation_1d(n, scale):
    v = np.random.default_rng(n).random(n)
    out_len = math.ceil(n * scale - 1e-9)
    expected = _naive_resize_1d(v, scale, out_len)
    got = D.imresize(v[None, :], scale)[0]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_matches_naive_implementation_2d_separable():
    img = np.random.default_rng(0).random((9, 12, 3))
    got = D.imresize(img, 0.5)
    rows = np.stack([_naive_resize_1d(img[:, j, c], 0.5, 5) for j in range(12) for c in range(3)], 1)
    rows = rows.reshape(5, 12, 3)
    expected = np.stack([_naive_resize_1d(rows[i, :, c], 0.5, 6) for i in range(5) for c in range(3)], 0)
    expected = expected.reshape(5, 3, 6).transpose(0, 2, 1)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("scale", [0.5, 0.25, 2.0])
def test_interior_matches_pillow_bicubic(scale):
    # Pillow's bicubic (a = -0.5, support stretched when shrinking) agrees with MATLAB away from the borders.
    img = np.random.default_rng(1).random((64, 64)).astype(np.float32)
    ours = D.imresize(img, scale)
    size = (round(64 * scale), round(64 * scale))
    pil = np.asarray(Image.fromarray(img, mode="F").resize(size, Image.Resampling.BICUBIC))
    m = 12
    np.testing.assert_allclose(ours[m:-m, m:-m], pil[m:-m, m:-m], atol=1e-5)


def test_constant_stays_constant_and_ramp_is_reproduced():
    const = np.full((20, 30, 3), 0.37, np.float32)
    for s in (0.5, 1 / 3, 2.0, 3.0):
        np.testing.assert_allclose(D.imresize(const, s), 0.37, atol=1e-6)
    ramp = np.tile(np.arange(32, dtype=np.float64), (4, 1))
    half = D.imresize(ramp, out_shape=(4, 16))
    # output x (0-based) sits at input coordinate 2x + 0.5; symmetric weights reproduce a ramp there
    np.testing.assert_allclose(half[0, 3:-3], 2 * np.arange(16)[3:-3] + 0.5, atol=1e-5)


def test_bicubic_downscale_crops_and_quantises():
    img = np.random.default_rng(2).random((50, 37, 3)).astype(np.float32)
    lr = D.bicubic_downscale(img, 4)
    assert lr.shape == (12, 9, 3) and lr.dtype == np.float32
    np.testing.assert_allclose(lr * 255, np.round(lr * 255), atol=1e-4)
    raw = D.imresize(img[:48, :36], 0.25)
    np.testing.assert_allclose(lr, D.quantize(raw), atol=1e-7)
    with pytest.raises(ValueError):
        D.bicubic_downscale(img, 2.5)


def test_nearest_upsampled_image_downscales_close_to_itself():
    small = np.random.default_rng(3).random((16, 16)).astype(np.float32)
    smooth = D.imresize(D.imresize(small, 0.5), 2.0)  # low-pass content, so shrinking loses little
    up = np.kron(smooth, np.ones((2, 2), np.float32))
    back = D.imresize(up, 0.5)
    assert np.abs(back - smooth)[3:-3, 3:-3].mean() < 0.03


# ---------------------------------------------------------------------------------------------
# noise


def test_gaussian_noise_stats_and_determinism():
    img = np.full((256, 256, 3), 0.5, np.float32)
    a = D.add_gaussian_noise(img, 25, np.random.default_rng(7), clip=False)
    b = D.add_gaussian_noise(img, 25, np.random.default_rng(7), clip=False)
    np.testing.assert_array_equal(a, b)
    assert abs((a - img).std() * 255 - 25) < 0.3
    assert abs((a - img).mean()) < 1e-3
    clipped = D.add_gaussian_noise(np.zeros((64, 64, 3), np.float32), 50, np.random.default_rng(0))
    assert clipped.min() >= 0 and clipped.max() <= 1
    unclipped = D.add_gaussian_noise(np.zeros((64, 64, 3), np.float32), 50, np.random.default_rng(0), clip=False)
    assert unclipped.min() < 0


def test_gaussian_noise_range_draws_a_level():
    img = np.full((128, 128), 0.5, np.float32)
    levels = [(D.add_gaussian_noise(img, (0, 50), np.random.default_rng(s), clip=False) - img).std() * 255
              for s in range(5)]
    assert all(0 <= lv <= 51 for lv in levels) and len({round(lv) for lv in levels}) > 1


def test_official_color_noise_matches_the_recipe():
    rgb = np.random.default_rng(0).random((8, 9, 3)).astype(np.float32)
    state = np.random.get_state()
    try:
        bgr = rgb[..., ::-1]
        np.random.seed(0)
        expected_bgr = bgr + np.random.normal(0, 25 / 255, bgr.shape)
    finally:
        np.random.set_state(state)
    got = D.official_color_noise(rgb, 25)
    np.testing.assert_allclose(got, expected_bgr[..., ::-1].astype(np.float32), atol=0)
    before = np.random.get_state()[1].copy()
    D.official_color_noise(rgb, 15)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # global RNG untouched


# ---------------------------------------------------------------------------------------------
# JPEG


def test_jpeg_keeps_size_changes_image_and_orders_by_quality():
    from skimage import data

    img = data.astronaut()[:128, :128].astype(np.float32) / 255
    q10 = D.jpeg(img, 10)
    q90 = D.jpeg(img, 90)
    assert q10.shape == img.shape and q10.dtype == np.float32
    assert np.abs(q10 - img).mean() > np.abs(q90 - img).mean() > 0
    np.testing.assert_array_equal(D.jpeg(img, 10), q10)
    gray = img.mean(axis=2)
    g = D.jpeg(gray, (10, 50), np.random.default_rng(0))
    assert g.shape == gray.shape and not np.array_equal(g, gray)
    assert D.jpeg(gray[:, :, None], 30).shape == (128, 128, 1)
    with pytest.raises(ValueError):
        D.jpeg(img, 0)


# ---------------------------------------------------------------------------------------------
# rain


def test_rain_only_brightens_and_is_deterministic():
    img = np.random.default_rng(0).random((96, 96, 3)).astype(np.float32) * 0.5
    a = D.add_rain(img, np.random.default_rng(3), preset="light")
    b = D.add_rain(img, np.random.default_rng(3), preset="light")
    np.testing.assert_array_equal(a, b)
    assert a.shape == img.shape and a.min() >= 0 and a.max() <= 1
    assert (a >= img - 1e-6).all() and a.mean() > img.mean() + 0.005
    heavy = D.add_rain(img, np.random.default_rng(3), preset="heavy")
    assert heavy.mean() > a.mean()


def test_vertical_rain_makes_vertical_streaks():
    dark = np.zeros((128, 128), np.float32)
    rainy = D.add_rain(dark, np.random.default_rng(0), angle=0.0, length=25.0, density=0.004)
    dx = np.abs(np.diff(rainy, axis=1)).sum()
    dy = np.abs(np.diff(rainy, axis=0)).sum()
    assert dx > 3 * dy
    assert rainy.shape == dark.shape


# ---------------------------------------------------------------------------------------------
# motion blur


def test_motion_blur_kernel_and_output():
    k = D.motion_blur_kernel(np.random.default_rng(0), size=31)
    assert k.shape == (31, 31) and k.min() >= 0 and abs(k.sum() - 1) < 1e-5
    assert (k > 0).sum() > 5  # a path, not a point
    np.testing.assert_array_equal(k, D.motion_blur_kernel(np.random.default_rng(0), size=31))
    const = np.full((40, 40, 3), 0.6, np.float32)
    blurred, kk = D.motion_blur(const, np.random.default_rng(1), noise_sigma=0)
    np.testing.assert_allclose(blurred, 0.6, atol=1e-5)
    assert abs(kk.sum() - 1) < 1e-5
    img = np.random.default_rng(2).random((40, 40, 3)).astype(np.float32)
    delta = np.zeros((5, 5), np.float32)
    delta[2, 2] = 1
    same, _ = D.motion_blur(img, np.random.default_rng(0), kernel=delta, noise_sigma=0)
    np.testing.assert_allclose(same, img, atol=1e-6)
    noisy, _ = D.motion_blur(img, np.random.default_rng(0), noise_sigma=2)
    assert noisy.shape == img.shape and np.abs(noisy - img).mean() > 0.01


def test_motion_blur_does_not_displace_the_image():
    """The kernel's centre of mass is its centre (sub-pixel), for any extent: blur, not blur + shift."""
    rng = np.random.default_rng(3)
    for length in (4.0, 16.0, 28.0, (4.0, 16.0)):
        for _ in range(20):
            k = D.motion_blur_kernel(rng, length=length).astype(np.float64)
            n = k.shape[0]
            assert n % 2 == 1 and n >= 2 * math.ceil(length if isinstance(length, float) else 4.0) + 3
            ys, xs = np.mgrid[:n, :n]
            c = (n - 1) / 2
            assert abs((k * ys).sum() - c) < 1e-3 and abs((k * xs).sum() - c) < 1e-3
            assert k[0].sum() == k[-1].sum() == k[:, 0].sum() == k[:, -1].sum() == 0  # nothing clipped
    small = D.motion_blur_kernel(np.random.default_rng(4), size=9, length=28.0)
    assert small.shape == (9, 9) and abs(small.sum() - 1) < 1e-5


# ---------------------------------------------------------------------------------------------
# specs


@pytest.mark.parametrize("spec,expected", [
    ("noise:0-50", "noise:0-50"), ("noise:25", "noise:25"), ("noise", "noise:0-50"),
    ("jpeg:10-50", "jpeg:10-50"), ("JPEG:20", "jpeg:20"), ("rain:heavy", "rain:heavy"), ("rain", "rain:light"),
    ("blur", "blur:4-16"), ("bicubic", "bicubic"), ("noise:2.5-7.5", "noise:2.5-7.5"),
])
def test_parse_round_trip(spec, expected):
    d = D.parse_degradation(spec)
    assert str(d) == expected
    assert D.parse_degradation(str(d)) == d


@pytest.mark.parametrize("bad", ["sharpen", "noise:50-10", "jpeg:0-200", "rain:drizzle", "noise:abc", "bicubic:4"])
def test_parse_rejects(bad):
    with pytest.raises(UsageError):
        D.parse_degradation(bad)


def test_apply_degradations_in_order():
    img = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    steps = [D.parse_degradation("bicubic"), D.parse_degradation("noise:5")]
    out = D.apply_degradations(img, steps, np.random.default_rng(0), scale=2)
    assert out.shape == (16, 16, 3)
    again = D.apply_degradations(img, steps, np.random.default_rng(0), scale=2)
    np.testing.assert_array_equal(out, again)
    for spec in ("jpeg:10-50", "rain:heavy", "blur"):
        y = D.parse_degradation(spec).apply(img, np.random.default_rng(0))
        assert y.shape == img.shape and y.dtype == np.float32

"""restore_cli.metrics against an independent, line-by-line transcription of BasicSR's formulas.

The reference below follows conventions.md section 1 literally, on BGR-ordered arrays as BasicSR
holds them (``to_y_channel`` -> ``bgr2ycbcr(y_only=True)``; ``calculate_psnr``; ``calculate_ssim``),
but computes SSIM's local statistics with ``scipy.signal.correlate2d(mode='valid')`` instead of
``cv2.filter2D`` + crop, so the window arithmetic is checked too. skimage's SSIM with the same
parameters is a third opinion.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.signal import correlate2d
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from restore_cli import metrics

# --------------------------------------------------------------------------- reference (BGR, BasicSR)


def ref_to_y_channel(img_bgr: np.ndarray) -> np.ndarray:
    img = img_bgr.astype(np.float32) / 255.0
    if img.ndim == 3 and img.shape[2] == 3:
        # bgr2ycbcr(img, y_only=True) on float32 [0, 1]: dot with BGR weights, +16, /255, back to float32.
        out = np.dot(img, [24.966, 128.553, 65.481]) + 16.0
        out = out / 255.0
        img = out.astype(np.float32)[..., None]
    return img * 255.0


def ref_prepare(a: np.ndarray, b: np.ndarray, crop: int, y: bool) -> tuple[np.ndarray, np.ndarray]:
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    if crop:
        a, b = a[crop:-crop, crop:-crop, ...], b[crop:-crop, crop:-crop, ...]
    if y:
        a, b = ref_to_y_channel(a), ref_to_y_channel(b)
    return a.astype(np.float64), b.astype(np.float64)


def ref_psnr(a_bgr, b_bgr, crop=0, y=False) -> float:
    a, b = ref_prepare(a_bgr, b_bgr, crop, y)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 20.0 * np.log10(255.0 / np.sqrt(mse))


def ref_ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = cv2.getGaussianKernel(11, 1.5)
    w = g @ g.T

    def f(z):
        return correlate2d(z, w, mode="valid")

    mu1, mu2 = f(x), f(y)
    s11 = f(x * x) - mu1 * mu1
    s22 = f(y * y) - mu2 * mu2
    s12 = f(x * y) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2))
    return float(m.mean())


def ref_ssim(a_bgr, b_bgr, crop=0, y=False) -> float:
    a, b = ref_prepare(a_bgr, b_bgr, crop, y)
    return float(np.mean([ref_ssim_channel(a[..., c], b[..., c]) for c in range(a.shape[2])]))


def ref_y_matlab(rgb: np.ndarray) -> np.ndarray:
    # MATLAB rgb2ycbcr on uint8: 16 + (65.481 R + 128.553 G + 24.966 B) / 255, rounded to uint8.
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    return np.floor(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255 + 0.5)


# ---------------------------------------------------------------------------------------------- data


def _noisy_pair(img: np.ndarray, sigma: float, seed: int, size=(96, 120)) -> tuple[np.ndarray, np.ndarray]:
    h, w = size
    a = img[40 : 40 + h, 60 : 60 + w]
    rng = np.random.default_rng(seed)
    b = np.clip(np.round(a.astype(np.float64) + rng.normal(0, sigma, a.shape)), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a), b


PAIRS = {
    "astronaut": _noisy_pair(data.astronaut(), 8.0, 0),
    "coffee": _noisy_pair(data.coffee(), 15.0, 1),
    "camera": _noisy_pair(data.camera(), 5.0, 2),
    "camera_hw1": tuple(x[..., None] for x in _noisy_pair(data.camera(), 25.0, 3)),
}


def _bgr(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x[..., ::-1]) if x.ndim == 3 and x.shape[2] == 3 else x


# --------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("crop", [0, 4])
@pytest.mark.parametrize("y", [False, True])
def test_psnr_matches_basicsr(name, crop, y):
    a, b = PAIRS[name]
    got = metrics.psnr(a, b, crop_border=crop, y_channel=y)
    assert abs(got - ref_psnr(_bgr(a), _bgr(b), crop, y)) < 1e-6


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("crop", [0, 3])
@pytest.mark.parametrize("y", [False, True])
def test_ssim_matches_basicsr(name, crop, y):
    a, b = PAIRS[name]
    got = metrics.ssim(a, b, crop_border=crop, y_channel=y)
    assert abs(got - ref_ssim(_bgr(a), _bgr(b), crop, y)) < 1e-6


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
def test_rgb_metrics_agree_with_skimage(name):
    a, b = PAIRS[name]
    channel_axis = -1 if a.ndim == 3 else None
    ssim_sk = structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255,
        channel_axis=channel_axis,
    )
    assert abs(metrics.ssim(a, b) - ssim_sk) < 1e-6
    assert abs(metrics.psnr(a, b) - peak_signal_noise_ratio(a, b, data_range=255)) < 1e-9


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_y_matlab(name):
    a, b = PAIRS[name]
    ya, yb = ref_y_matlab(a), ref_y_matlab(b)
    mse = np.mean((ya - yb) ** 2)
    assert abs(metrics.psnr(a, b, y_matlab=True) - 10 * np.log10(255**2 / mse)) < 1e-9
    assert abs(metrics.ssim(a, b, y_matlab=True) - ref_ssim_channel(ya, yb)) < 1e-6
    # Rounded Y differs from BasicSR's float Y, but only slightly.
    assert 0 < abs(metrics.psnr(a, b, y_matlab=True) - metrics.psnr(a, b, y_channel=True)) < 0.2


def test_gray_y_is_gray():
    a, b = PAIRS["camera"]
    assert metrics.psnr(a, b, y_channel=True) == pytest.approx(metrics.psnr(a, b), abs=1e-9)
    assert metrics.psnr(a, b, y_matlab=True) == metrics.psnr(a, b)


def test_identical_images():
    a, _ = PAIRS["astronaut"]
    assert metrics.psnr(a, a) == float("inf")
    assert metrics.psnr(a, a.copy(), y_channel=True) == float("inf")
    assert metrics.ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_known_value():
    a = np.zeros((16, 16), np.uint8)
    b = np.full((16, 16), 255, np.uint8)
    assert metrics.psnr(a, b) == 0.0
    b = a.copy()
    b[0, 0] = 16  # MSE = 256 / 256 = 1
    assert metrics.psnr(a, b) == pytest.approx(20 * np.log10(255), abs=1e-12)


def test_quantize_matches_tensor2img():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((5, 6, 3)).astype(np.float32) * 1.2 - 0.1
    # BasicSR tensor2img: clamp, then (float32 numpy * 255.).round(), uint8.
    t = torch.from_numpy(x).clamp_(0, 1).numpy()
    np.testing.assert_array_equal(metrics.quantize(x), (t * 255.0).round().astype(np.uint8))


def test_input_validation():
    a = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match="differ"):
        metrics.psnr(a, a[:10])
    with pytest.raises(TypeError, match="uint8"):
        metrics.psnr(a.astype(np.float32), a.astype(np.float32))
    with pytest.raises(ValueError, match="11 x 11"):
        metrics.ssim(a, a, crop_border=5)

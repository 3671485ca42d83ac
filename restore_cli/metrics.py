"""PSNR and SSIM exactly as BasicSR computes them, so numbers compare with published tables.

The definitions follow ``basicsr/metrics/psnr_ssim.py`` (``calculate_psnr``/``calculate_ssim``) and
``to_y_channel`` in ``basicsr/metrics/metric_util.py`` of BasicSR 1.3.x, the copy bundled with
csguoh/MambaIR (see ``conventions.md`` section 1 of the project reference). BasicSR holds images in
BGR order; these functions take RGB (or gray) and apply each Y coefficient to the matching channel in
the same summation order, so results agree to floating-point round-off.

Inputs are **uint8** arrays: published numbers are computed on the quantised 8-bit output (clamp,
x255, round half to even), which :func:`quantize` reproduces.

A ``y_matlab`` switch gives the MATLAB ``rgb2ycbcr`` Y (rounded to integers), which the deraining
evaluation scripts (Restormer/MPRNet ``evaluate_PSNR_SSIM.m``) use instead of BasicSR's float Y.
"""

from __future__ import annotations

import cv2
import numpy as np

from restore_cli.io import quantize as _quantize

__all__ = ["psnr", "quantize", "ssim"]

# BasicSR's bgr2ycbcr(y_only=True) weights, in BGR order: Y = 16 + 24.966 B + 128.553 G + 65.481 R.
_Y_WEIGHTS_BGR = [24.966, 128.553, 65.481]
# MATLAB rgb2ycbcr for uint8: T(1,:) / 255 applied to R, G, B in 0..255, then + 16, rounded.
_Y_MATLAB_RGB = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)


def quantize(x: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] -> uint8 as BasicSR's ``tensor2img``: clamp, x255 (float32), round, cast."""
    return _quantize(x, 8)


def psnr(
    a: np.ndarray,
    b: np.ndarray,
    *,
    crop_border: int = 0,
    y_channel: bool = False,
    y_matlab: bool = False,
) -> float:
    """Peak signal-to-noise ratio in dB (BasicSR ``calculate_psnr``).

    Args:
        a, b: uint8 images of the same shape, H x W x 3 (RGB), H x W x 1 or H x W.
        crop_border: pixels removed from every edge first (the SR convention uses the scale).
        y_channel: compare BasicSR's float Y (BT.601 studio range, not rounded) instead of RGB.
        y_matlab: compare MATLAB's rounded Y instead (implies ``y_channel``).

    Returns:
        ``10 log10(255^2 / MSE)`` over all pixels and channels; ``inf`` for identical inputs.
    """
    x, y = _prepare(a, b, crop_border, y_channel, y_matlab)
    mse = np.mean((x - y) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(255.0 * 255.0 / mse))


def ssim(
    a: np.ndarray,
    b: np.ndarray,
    *,
    crop_border: int = 0,
    y_channel: bool = False,
    y_matlab: bool = False,
) -> float:
    """Structural similarity (BasicSR ``calculate_ssim``): per-channel SSIM, then the channel mean.

    Each channel uses an 11 x 11 Gaussian window (sigma 1.5) through ``cv2.filter2D`` with the
    5-pixel border of every statistic discarded, i.e. a "valid" correlation as in Wang et al.'s
    MATLAB ``ssim_index``; ``C1 = (0.01 * 255)^2``, ``C2 = (0.03 * 255)^2``.

    Args:
        a, b, crop_border, y_channel, y_matlab: as for :func:`psnr`.

    Returns:
        Mean SSIM in [-1, 1].

    Raises:
        ValueError: after cropping the image is smaller than the 11 x 11 window.
    """
    x, y = _prepare(a, b, crop_border, y_channel, y_matlab)
    if x.shape[0] < 11 or x.shape[1] < 11:
        raise ValueError(f"SSIM needs at least 11 x 11 pixels after cropping, got {x.shape[:2]}")
    per_channel = [_ssim_one(x[..., c], y[..., c]) for c in range(x.shape[2])]
    return float(np.array(per_channel).mean())


def _prepare(
    a: np.ndarray, b: np.ndarray, crop_border: int, y_channel: bool, y_matlab: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Validate, reorder to H x W x C, crop, convert to Y if asked, cast to float64 (BasicSR order)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise TypeError(f"metrics take uint8 images (use quantize()), got {a.dtype} and {b.dtype}")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3):
        raise ValueError(f"expected H x W, H x W x 1 or H x W x 3 images, got shape {a.shape}")
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    if crop_border:
        a = a[crop_border:-crop_border, crop_border:-crop_border, ...]
        b = b[crop_border:-crop_border, crop_border:-crop_border, ...]
        if a.size == 0:
            raise ValueError(f"crop_border {crop_border} removes the whole image")
    if y_matlab:
        a, b = _y_matlab(a), _y_matlab(b)
    elif y_channel:
        a, b = _y_basicsr(a), _y_basicsr(b)
    return a.astype(np.float64), b.astype(np.float64)


def _y_basicsr(img: np.ndarray) -> np.ndarray:
    """BasicSR ``to_y_channel``: float32 /255, Y via a float64 dot, back to float32, x255; not rounded.

    Gray input goes through the same float32 /255 and x255 round trip as in BasicSR.
    """
    x = img.astype(np.float32) / 255.0
    if x.shape[2] == 3:
        y = np.dot(x[..., ::-1], _Y_WEIGHTS_BGR) + 16.0  # BGR order, as BasicSR sums it
        x = (y / 255.0).astype(np.float32)[..., None]
    return x * 255.0


def _y_matlab(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` Y for uint8 input: double arithmetic, rounded half away from zero."""
    if img.shape[2] == 1:
        return img
    x = img.astype(np.float64)
    wr, wg, wb = _Y_MATLAB_RGB
    y = wr * x[..., 0] + wg * x[..., 1] + wb * x[..., 2] + 16.0
    return np.floor(y + 0.5)[..., None]  # values are positive, so this is MATLAB's rounding


def _ssim_one(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of one float64 channel on the 0..255 scale (BasicSR ``_ssim``)."""
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2
    g = cv2.getGaussianKernel(11, 1.5)
    window = np.outer(g, g.transpose())

    def filt(z: np.ndarray) -> np.ndarray:
        return cv2.filter2D(z, -1, window)[5:-5, 5:-5]

    mu1, mu2 = filt(x), filt(y)
    mu1_sq, mu2_sq, mu1_mu2 = mu1**2, mu2**2, mu1 * mu2
    sigma1_sq = filt(x**2) - mu1_sq
    sigma2_sq = filt(y**2) - mu2_sq
    sigma12 = filt(x * y) - mu1_mu2
    num = (2 * mu1_mu2 + c1) * (2 * sigma12 + c2)
    den = (mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2)
    return float((num / den).mean())

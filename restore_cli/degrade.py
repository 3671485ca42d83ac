"""Synthetic degradations for training and evaluation: bicubic downscaling, noise, JPEG, rain, motion blur.

Every function is pure: it takes a float32 ``H x W x C`` RGB (or ``H x W`` / ``H x W x 1`` gray) array in
[0, 1] and returns a new array, and any randomness comes from an explicit ``numpy.random.Generator``, so a
degraded training sample or validation input is reproducible from the clean image, a seed and the recipe
(``photo_corpus.md`` §7.5: keep degraded copies derived, never stored).

Where published numbers depend on the exact recipe, the recipe is reproduced exactly:

* :func:`imresize` is MATLAB's ``imresize(img, scale)`` with the default antialiased bicubic kernel, which
  made the DIV2K/Set5/Set14/B100/Urban100/Manga109 low-resolution inputs. Other bicubic resizers (OpenCV,
  PyTorch, Pillow at the borders) give different inputs and measurably different PSNR.
* :func:`official_color_noise` is the MambaIR colour-denoising test recipe (``conventions.md`` §2.1).

The rest (rain streaks, trajectory motion blur) are our own synthesis in the style of the common datasets;
their parameters are recorded by :class:`Degradation` specs so a model card can say how it was trained.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import UsageError

Range = float | tuple[float, float]

__all__ = [
    "RAIN_PRESETS",
    "Degradation",
    "RainParams",
    "add_gaussian_noise",
    "add_rain",
    "apply_degradations",
    "bicubic_downscale",
    "imresize",
    "jpeg",
    "motion_blur",
    "motion_blur_kernel",
    "official_color_noise",
    "parse_degradation",
    "quantize",
    "rain_layer",
]


# --------------------------------------------------------------------------------------------------
# helpers


def _draw(value: Range, rng: np.random.Generator | None) -> float:
    """A fixed value, or a uniform draw from ``(lo, hi)`` (needs ``rng``)."""
    if isinstance(value, tuple | list):
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            raise ValueError(f"range ({lo}, {hi}) has its low end above its high end")
        if lo == hi:
            return lo
        if rng is None:
            raise ValueError("a range needs an rng to draw from")
        return float(rng.uniform(lo, hi))
    return float(value)


def quantize(img: np.ndarray) -> np.ndarray:
    """Round to 8-bit levels (clip to [0, 1], ``round(x * 255) / 255``), as saving a PNG would."""
    return (np.round(np.clip(img, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def _as_hwc(img: np.ndarray) -> tuple[np.ndarray, bool]:
    """View a 2-D gray image as ``H x W x 1``; report whether it was 2-D so the shape can be restored."""
    if img.ndim == 2:
        return img[:, :, None], True
    if img.ndim != 3:
        raise ValueError(f"expected an H x W or H x W x C image, got shape {img.shape}")
    return img, False


# --------------------------------------------------------------------------------------------------
# MATLAB imresize (bicubic, antialiased)


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, exactly as MATLAB's ``imresize`` defines it."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1.0)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1.0) & (ax <= 2.0))
    return inner + outer


def resize_weights(in_length: int, out_length: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The ``(out_length, in_length)`` matrix that MATLAB's bicubic ``imresize`` applies along one axis.

    MATLAB (``contributions`` in ``imresize.m``) maps output pixel ``x`` (1-based) to input coordinate
    ``u = x / scale + 0.5 * (1 - 1 / scale)``, takes ``ceil(kernel_width) + 2`` taps from
    ``floor(u - kernel_width / 2)``, and normalises each row to sum to one. When shrinking with
    antialiasing the kernel is stretched: ``h(x) = scale * cubic(scale * x)`` with width ``4 / scale``.
    Taps outside the image are mirrored with edge repetition (``[1..n, n..1]``, MATLAB's "symmetric"),
    which is why the matrix is built by accumulation: a mirrored tap adds to an inner pixel's weight.
    """
    if in_length < 1 or out_length < 1:
        raise ValueError(f"lengths must be positive, got {in_length} -> {out_length}")
    kernel_width = 4.0
    if scale < 1.0 and antialias:
        kernel_width = kernel_width / scale

        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * _cubic(scale * x)
    else:
        kernel = _cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = math.ceil(kernel_width) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based, may fall outside
    weights = kernel(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length)[::-1]])  # 0-based symmetric
    source = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_length)[:, None], source.shape)
    np.add.at(matrix, (rows, source), weights)
    return matrix


def _out_length(length: int, scale: float) -> int:
    """MATLAB's ``ceil(scale * length)``, tolerant of the float error in e.g. ``2040 * (1/3)``."""
    return max(1, math.ceil(length * scale - 1e-9))


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    *,
    out_shape: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """Resize like MATLAB's ``imresize(img, scale)`` (bicubic, antialiased when shrinking).

    The result is not clipped or rounded, as MATLAB's is not for ``double`` input; call :func:`quantize`
    to get what MATLAB returns for ``uint8`` input (the benchmark LR files).

    Args:
        img: ``H x W`` or ``H x W x C`` float array (any range).
        scale: one factor for both axes (``0.25`` shrinks by 4). The output size is ``ceil(scale * size)``.
        out_shape: ``(height, width)`` instead of ``scale``; the per-axis factor is then ``out / in``.
        antialias: stretch the kernel when shrinking (MATLAB's default ``'Antialiasing', true``).

    Returns:
        float32 array of the new size, same number of dimensions as ``img``.

    Raises:
        ValueError: when neither or both of ``scale`` and ``out_shape`` are given, or a size is invalid.
    """
    if (scale is None) == (out_shape is None):
        raise ValueError("give exactly one of scale and out_shape")
    arr, was_2d = _as_hwc(np.asarray(img))
    h, w = arr.shape[:2]
    if out_shape is not None:
        out_h, out_w = int(out_shape[0]), int(out_shape[1])
        scales = (out_h / h, out_w / w)
    else:
        if scale is None or scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        scales = (float(scale), float(scale))
        out_h, out_w = _out_length(h, scales[0]), _out_length(w, scales[1])
    out = arr.astype(np.float64)
    # MATLAB resizes the axis with the smallest factor first (stable order: rows before columns).
    for axis in sorted((0, 1), key=lambda a: scales[a]):
        if axis == 0:
            matrix = resize_weights(h, out_h, scales[0], antialias)
            out = np.tensordot(matrix, out, axes=(1, 0))
        else:
            matrix = resize_weights(w, out_w, scales[1], antialias)
            out = np.tensordot(out, matrix, axes=(1, 1)).transpose(0, 2, 1)
    out = out.astype(np.float32)
    return out[:, :, 0] if was_2d else out


def bicubic_downscale(img: np.ndarray, scale: int, *, quantize_output: bool = True) -> np.ndarray:
    """The standard SR low-resolution input: crop to a multiple of ``scale``, then MATLAB-bicubic shrink.

    This is how DIV2K's ``X{s}`` bicubic LR and the benchmark LR sets were made (``imresize(hr, 1/s)``
    on ``uint8`` images), so the output is quantised to 8-bit levels by default.

    Args:
        img: the high-resolution image, ``H x W [x C]`` in [0, 1].
        scale: integer downscaling factor (2, 3, 4, ...).
        quantize_output: round to 8-bit levels as MATLAB does for ``uint8`` input.

    Returns:
        float32 image of size ``(H // scale, W // scale)``.
    """
    s = int(scale)
    if s < 1 or s != scale:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    h, w = img.shape[0] - img.shape[0] % s, img.shape[1] - img.shape[1] % s
    if h == 0 or w == 0:
        raise ValueError(f"image {img.shape[:2]} is smaller than the scale {s}")
    cropped = img[:h, :w]
    out = imresize(cropped, out_shape=(h // s, w // s)) if s > 1 else cropped.astype(np.float32)
    return quantize(out) if quantize_output else out


# --------------------------------------------------------------------------------------------------
# noise


def add_gaussian_noise(
    img: np.ndarray,
    sigma: Range,
    rng: np.random.Generator,
    *,
    clip: bool = True,
) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma / 255`` (sigma on the 0-255 scale).

    Args:
        img: image in [0, 1].
        sigma: a fixed level (e.g. 25) or a ``(lo, hi)`` range drawn uniformly per call (blind models).
        rng: source of the noise (and of the level, for a range).
        clip: clip the result to [0, 1]. Training on clipped noise matches real 8-bit noisy files; the
            official test recipe does not clip (see :func:`official_color_noise`).
    """
    level = _draw(sigma, rng)
    noisy = img.astype(np.float32) + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(level / 255.0)
    return np.clip(noisy, 0.0, 1.0) if clip else noisy


def official_color_noise(gt_rgb: np.ndarray, sigma: float) -> np.ndarray:
    """The noisy input of MambaIR's colour-denoising test, reproduced exactly (``conventions.md`` §2.1).

    The official loader reads the GT as float32 BGR, calls ``np.random.seed(0)`` before every image and
    adds ``np.random.normal(0, sigma / 255, shape)`` drawn in ``(H, W, 3)`` BGR order; the sum is float64,
    neither clipped nor quantised. A private ``RandomState(0)`` draws the same numbers as the legacy
    global generator seeded with 0, without touching global state.

    Args:
        gt_rgb: the clean image, ``H x W x 3`` RGB float32 in [0, 1] (an 8-bit file divided by 255).
        sigma: noise level on the 0-255 scale (15, 25 or 50 in the papers).

    Returns:
        float32 RGB noisy image (not clipped), as the network sees it after ``img2tensor``.
    """
    bgr = np.ascontiguousarray(gt_rgb[..., ::-1]).astype(np.float32)
    noise = np.random.RandomState(0).normal(0.0, sigma / 255.0, bgr.shape)
    noisy_bgr = bgr + noise
    return np.ascontiguousarray(noisy_bgr[..., ::-1]).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# JPEG


def jpeg(img: np.ndarray, quality: Range, rng: np.random.Generator | None = None) -> np.ndarray:
    """Encode to JPEG and decode again, with OpenCV's libjpeg (as BasicSR's degradations do).

    OpenCV's encoder uses the IJG quality scaling, 4:2:0 chroma subsampling for colour, no optimised
    Huffman tables and baseline (non-progressive) coding. Gray input (``H x W`` or ``H x W x 1``) is
    encoded as a one-channel JPEG, the grayscale JPEG CAR setting. The image is rounded to 8 bits first.

    Args:
        img: image in [0, 1]; RGB or gray.
        quality: an IJG quality 1-100, or a ``(lo, hi)`` range drawn as an integer (inclusive).
        rng: needed only for a range.

    Returns:
        float32 image of the same shape, on 8-bit levels.
    """
    if isinstance(quality, tuple | list):
        lo, hi = int(quality[0]), int(quality[1])
        if rng is None:
            raise ValueError("a quality range needs an rng to draw from")
        q = int(rng.integers(lo, hi + 1))
    else:
        q = int(quality)
    if not 1 <= q <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {q}")
    arr, was_2d = _as_hwc(img)
    u8 = np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    if u8.shape[2] == 3:
        u8 = cv2.cvtColor(u8, cv2.COLOR_RGB2BGR)
        flags = cv2.IMREAD_COLOR
    elif u8.shape[2] == 1:
        u8 = u8[:, :, 0]
        flags = cv2.IMREAD_GRAYSCALE
    else:
        raise ValueError(f"JPEG needs 1 or 3 channels, got {u8.shape[2]}")
    ok, buf = cv2.imencode(".jpg", u8, [int(cv2.IMWRITE_JPEG_QUALITY), q])
    if not ok:  # pragma: no cover - OpenCV failure
        raise RuntimeError("OpenCV could not encode the JPEG")
    dec = cv2.imdecode(buf, flags)
    if dec.ndim == 3:
        dec = cv2.cvtColor(dec, cv2.COLOR_BGR2RGB)
    else:
        dec = dec[:, :, None]
    out = dec.astype(np.float32) / 255.0
    return out[:, :, 0] if was_2d else out


# --------------------------------------------------------------------------------------------------
# rain


@dataclass(frozen=True)
class RainParams:
    """Ranges for one rain preset; each value is drawn uniformly per image (``layers`` as an integer).

    ``density`` is the fraction of pixels that seed a streak, ``angle`` the streak direction in degrees
    from vertical, ``length`` and ``width`` in pixels, ``intensity`` the peak streak brightness,
    ``angle_jitter`` the per-layer deviation from the image's main angle, ``haze`` the veiling amount.
    """

    density: tuple[float, float]
    angle: tuple[float, float]
    length: tuple[float, float]
    width: tuple[float, float]
    intensity: tuple[float, float]
    layers: tuple[int, int] = (1, 1)
    angle_jitter: float = 0.0
    haze: tuple[float, float] = (0.0, 0.0)


#: Rain100L-like (sparse thin streaks in one direction) and Rain100H-like (dense, several layers in
#: spread directions, wider and brighter streaks, a veil of haze) parameter ranges.
RAIN_PRESETS: dict[str, RainParams] = {
    "light": RainParams(
        density=(0.002, 0.006), angle=(-20.0, 20.0), length=(12.0, 30.0), width=(1.0, 1.5),
        intensity=(0.45, 0.8),
    ),
    "heavy": RainParams(
        density=(0.0015, 0.004), angle=(-30.0, 30.0), length=(20.0, 50.0), width=(1.0, 2.5),
        intensity=(0.35, 0.8), layers=(2, 4), angle_jitter=10.0, haze=(0.05, 0.2),
    ),
}


def _line_kernel(length: float, angle_deg: float, width: float) -> np.ndarray:
    """A motion-blur line kernel of the given length and width, rotated ``angle_deg`` from vertical.

    Peak value 1 along the line (not normalised to sum 1), so a seed of value v becomes a streak of
    brightness about v rather than v / length; the ends taper so streaks fade out like real rain.
    """
    size = math.ceil(length) | 1
    pad = math.ceil(width) + 2
    n = size + 2 * pad
    kernel = np.zeros((n, n), dtype=np.float32)
    c = (n - 1) / 2.0
    theta = math.radians(angle_deg)
    dy, dx = math.cos(theta) * length / 2.0, math.sin(theta) * length / 2.0
    shift = 4  # cv2.line takes fixed-point coordinates with `shift` fractional bits
    p0 = (round((c - dx) * 2**shift), round((c - dy) * 2**shift))
    p1 = (round((c + dx) * 2**shift), round((c + dy) * 2**shift))
    thickness = max(1, round(width))
    cv2.line(kernel, p0, p1, 1.0, thickness=thickness, lineType=cv2.LINE_AA, shift=shift)
    if width > thickness:  # fractional extra width: soften sideways
        kernel = cv2.GaussianBlur(kernel, (0, 0), sigmaX=(width - thickness) + 0.3)
    # taper along the streak: brightest in the middle
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    along = ((yy - c) * math.cos(theta) + (xx - c) * math.sin(theta)) / max(length / 2.0, 1e-6)
    kernel *= np.clip(1.0 - 0.6 * along**2, 0.0, 1.0)
    peak = kernel.max()
    return kernel / peak if peak > 0 else kernel


def rain_layer(
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    density: float,
    angle: float,
    length: float,
    width: float,
    intensity: float,
) -> np.ndarray:
    """One layer of rain streaks, ``H x W`` float32 in [0, 1] (0 = no rain).

    Sparse random seeds (a fraction ``density`` of pixels, random strengths) are smeared by a rotated
    line kernel into streaks, then contrast-stretched with a soft threshold so overlapping streak tails
    do not turn into a gray fog, and scaled to ``intensity``.
    """
    h, w = shape
    seeds = (rng.random((h, w), dtype=np.float32) < density).astype(np.float32)
    seeds *= rng.uniform(0.5, 1.0, size=(h, w)).astype(np.float32)
    kernel = _line_kernel(length, angle, width)
    streaks = cv2.filter2D(seeds, -1, kernel, borderType=cv2.BORDER_REFLECT)
    streaks = np.clip((streaks - 0.15) / 0.85, 0.0, 1.0)
    return (streaks * intensity).astype(np.float32)


def add_rain(
    img: np.ndarray,
    rng: np.random.Generator,
    *,
    preset: str | RainParams = "light",
    density: Range | None = None,
    angle: Range | None = None,
    length: Range | None = None,
    width: Range | None = None,
    intensity: Range | None = None,
) -> np.ndarray:
    """Composite synthetic rain streaks over a clean image, in the style of Rain100L / Rain100H.

    Each layer is drawn by :func:`rain_layer` and screen-blended (``1 - (1 - a)(1 - b)``), which only
    brightens, as rain does on the datasets. The heavy preset stacks several layers with directions
    spread around one main angle, then adds a haze veil towards a light gray airlight. Explicit keyword
    values (fixed or ranges) override the preset's ranges.

    Args:
        img: clean image in [0, 1], RGB or gray.
        rng: source of all random choices.
        preset: ``"light"``, ``"heavy"`` or a :class:`RainParams`.
        density, angle, length, width, intensity: optional overrides of the preset.

    Returns:
        float32 rainy image in [0, 1], same shape.
    """
    params = RAIN_PRESETS[preset] if isinstance(preset, str) else preset
    arr, was_2d = _as_hwc(img.astype(np.float32))
    h, w = arr.shape[:2]
    main_angle = _draw(angle if angle is not None else params.angle, rng)
    n_layers = int(rng.integers(params.layers[0], params.layers[1] + 1))
    out = arr.copy()
    for _ in range(n_layers):
        layer_angle = main_angle + (float(rng.uniform(-1, 1)) * params.angle_jitter if params.angle_jitter else 0.0)
        layer = rain_layer(
            (h, w), rng,
            density=_draw(density if density is not None else params.density, rng),
            angle=layer_angle,
            length=_draw(length if length is not None else params.length, rng),
            width=_draw(width if width is not None else params.width, rng),
            intensity=_draw(intensity if intensity is not None else params.intensity, rng),
        )
        out = 1.0 - (1.0 - out) * (1.0 - layer[:, :, None])
    haze = _draw(params.haze, rng)
    if haze > 0:
        airlight = float(rng.uniform(0.75, 0.9))
        out = out * (1.0 - haze) + airlight * haze
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out[:, :, 0] if was_2d else out


# --------------------------------------------------------------------------------------------------
# motion blur


def motion_blur_kernel(
    rng: np.random.Generator,
    *,
    size: int | None = None,
    length: Range = (4.0, 16.0),
    steps: int = 256,
    inertia: float = 0.85,
    shake_prob: float = 0.01,
) -> np.ndarray:
    """A camera-shake blur kernel from a random trajectory, ``size x size`` float32, summing to 1.

    The camera position follows a random walk with inertia: each step keeps ``inertia`` of its velocity
    and adds a random push, and with probability ``shake_prob`` takes a sudden jerk (the ideas of
    Boracchi and Foi 2012, "Modeling the performance of image restoration from motion blur"). The path is
    scaled to a drawn extent ``length`` (pixels) and every position is splatted into the kernel with
    bilinear weights, so sub-pixel motion gives smooth kernels.

    The path is centred on its time average, so the kernel's centre of mass is the kernel's centre: the
    blurred image is not displaced on average, as with a real exposure whose sharp reference is the mid-
    exposure frame (GoPro-style data). Centring the bounding box instead shifted images by about 1 px
    (median) in a random direction the network cannot know, which stalled deblurring training.
    ``size`` (odd) defaults to the smallest that holds any path of that extent, ``2 * ceil(extent) + 3``;
    a smaller one shrinks the extent to fit.
    """
    extent = _draw(length, rng)
    if size is None:
        size = 2 * math.ceil(extent) + 3
    if size < 3 or size % 2 == 0:
        raise ValueError(f"kernel size must be odd and at least 3, got {size}")
    velocity = complex(*rng.standard_normal(2))
    pos = 0j
    path = np.empty(steps, dtype=np.complex128)
    for i in range(steps):
        push = complex(*rng.standard_normal(2)) * 0.5
        if rng.random() < shake_prob:
            push += complex(*rng.standard_normal(2)) * 4.0
        velocity = inertia * velocity + (1.0 - inertia) * push * 4.0
        pos += velocity
        path[i] = pos
    span = max(np.ptp(path.real), np.ptp(path.imag), 1e-9)
    path = (path - path.mean()) * (extent / span)
    reach = max(np.abs(path.real).max(), np.abs(path.imag).max(), 1e-9)
    half = (size - 3) / 2.0  # the bilinear splat needs one pixel of margin on each side
    if reach > half:
        path *= half / reach
    c = (size - 1) / 2.0
    xs, ys = path.real + c, path.imag + c
    kernel = np.zeros((size, size), dtype=np.float64)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + dy, x0 + dx), wgt)
    kernel /= kernel.sum()
    return kernel.astype(np.float32)


def motion_blur(
    img: np.ndarray,
    rng: np.random.Generator,
    *,
    size: int | None = None,
    length: Range = (4.0, 16.0),
    noise_sigma: Range = (0.5, 2.0),
    kernel: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Blur with a random camera-trajectory kernel, add mild Gaussian noise, clip to [0, 1].

    Args:
        img: clean image in [0, 1], RGB or gray.
        rng: source of the kernel and the noise.
        size: kernel size (odd; default: fitted to the drawn extent); the trajectory fits inside it.
        length: trajectory extent in pixels, fixed or a range.
        noise_sigma: noise level on the 0-255 scale after blurring, fixed or a range (0 for none).
        kernel: use this kernel instead of drawing one (it is normalised to sum 1).

    Returns:
        ``(blurred, kernel)``: the float32 degraded image (same shape) and the kernel used.
    """
    k = motion_blur_kernel(rng, size=size, length=length) if kernel is None else kernel / kernel.sum()
    arr, was_2d = _as_hwc(img.astype(np.float32))
    # filter2D correlates; flipping the kernel makes it a true convolution with the trajectory.
    flipped = np.ascontiguousarray(k[::-1, ::-1]).astype(np.float32)
    blurred = cv2.filter2D(arr, -1, flipped, borderType=cv2.BORDER_REFLECT)
    if blurred.ndim == 2:
        blurred = blurred[:, :, None]
    sigma = _draw(noise_sigma, rng)
    if sigma > 0:
        blurred = add_gaussian_noise(blurred, sigma, rng, clip=False)
    blurred = np.clip(blurred, 0.0, 1.0).astype(np.float32)
    return (blurred[:, :, 0] if was_2d else blurred), k


# --------------------------------------------------------------------------------------------------
# specs: "noise:0-50", "jpeg:10-50", "rain:heavy", "blur", "bicubic"

_KINDS = ("bicubic", "noise", "jpeg", "rain", "blur")
_DEFAULTS: dict[str, tuple[float, float]] = {"noise": (0.0, 50.0), "jpeg": (10.0, 50.0), "blur": (4.0, 16.0)}


@dataclass(frozen=True)
class Degradation:
    """One step of a degradation recipe, parsed from a CLI spec such as ``noise:0-50``.

    ``low``/``high`` hold the level (sigma, JPEG quality, blur trajectory length); equal values mean a
    fixed level. ``preset`` names the rain preset. ``str(d)`` gives the spec back, for model cards.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    preset: str | None = None

    def __str__(self) -> str:
        if self.kind == "rain":
            return f"rain:{self.preset}"
        if self.low is None:
            return self.kind
        if self.low == self.high:
            return f"{self.kind}:{_fmt(self.low)}"
        return f"{self.kind}:{_fmt(self.low)}-{_fmt(self.high)}"

    @property
    def level(self) -> Range:
        """The fixed level, or the ``(low, high)`` range."""
        assert self.low is not None and self.high is not None
        return self.low if self.low == self.high else (self.low, self.high)

    def apply(self, img: np.ndarray, rng: np.random.Generator, *, scale: int = 1) -> np.ndarray:
        """Degrade ``img`` (bicubic uses ``scale``; the others keep the size)."""
        if self.kind == "bicubic":
            return bicubic_downscale(img, scale)
        if self.kind == "noise":
            return add_gaussian_noise(img, self.level, rng)
        if self.kind == "jpeg":
            level = self.level
            return jpeg(img, (int(level[0]), int(level[1])) if isinstance(level, tuple) else int(level), rng)
        if self.kind == "rain":
            return add_rain(img, rng, preset=self.preset or "light")
        if self.kind == "blur":
            return motion_blur(img, rng, length=self.level)[0]
        raise AssertionError(self.kind)  # pragma: no cover - parse_degradation guards kinds


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def parse_degradation(spec: str) -> Degradation:
    """Parse a CLI degradation spec.

    Accepted forms: ``bicubic``; ``noise`` / ``noise:25`` / ``noise:0-50`` (sigma, 0-255 scale);
    ``jpeg`` / ``jpeg:20`` / ``jpeg:10-50`` (IJG quality); ``rain`` / ``rain:light`` / ``rain:heavy``;
    ``blur`` (= ``blur:4-16``) / ``blur:20`` / ``blur:8-28`` (trajectory extent in pixels; 8-28 on a
    1024 px photo is about GoPro's blur, 4-16 the everyday hand shake the bundled model is trained for).

    Raises:
        UsageError: for an unknown kind or a malformed level.
    """
    text = spec.strip().lower()
    kind, _, arg = text.partition(":")
    if kind not in _KINDS:
        raise UsageError(f"unknown degradation {spec!r}; use one of {', '.join(_KINDS)} (e.g. noise:0-50)")
    if kind == "bicubic":
        if arg:
            raise UsageError(f"bicubic takes no level ({spec!r}); set the factor with --scale")
        return Degradation("bicubic")
    if kind == "rain":
        preset = arg or "light"
        if preset not in RAIN_PRESETS:
            raise UsageError(f"unknown rain preset {arg!r}; use rain:light or rain:heavy")
        return Degradation("rain", preset=preset)
    if not arg:
        lo, hi = _DEFAULTS[kind]
        return Degradation(kind, lo, hi)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?", arg)
    if not m:
        raise UsageError(f"cannot read the level in {spec!r}; write e.g. {kind}:25 or {kind}:10-50")
    lo = float(m.group(1))
    hi = float(m.group(2)) if m.group(2) else lo
    if lo > hi:
        raise UsageError(f"{spec!r}: the range's low end is above its high end")
    if kind == "jpeg" and not (lo >= 1 and hi <= 100):
        raise UsageError(f"{spec!r}: JPEG quality must be within 1-100")
    if kind == "noise" and hi > 255:
        raise UsageError(f"{spec!r}: noise sigma is on the 0-255 scale")
    return Degradation(kind, lo, hi)


def apply_degradations(
    img: np.ndarray, steps: Sequence[Degradation], rng: np.random.Generator, *, scale: int = 1
) -> np.ndarray:
    """Apply a recipe in order (e.g. ``bicubic`` then ``noise:5``)."""
    out = img
    for step in steps:
        out = step.apply(out, rng, scale=scale)
    return out

"""Image files in and out: bounded, orientation-aware reads and atomic, bit-depth-preserving writes.

Why two decoders: Pillow understands every colour model we meet (palette, 1-bit, CMYK, LA, EXIF, ICC)
but cannot hold 16-bit colour in memory, so a 16-bit RGB PNG or TIFF would silently lose its low byte.
Pixels of 16-bit (and float) PNG/TIFF files therefore come from OpenCV (``cv2.imdecode`` with
``IMREAD_UNCHANGED``), while Pillow still supplies the header (size, mode), EXIF orientation and the ICC
profile. Everything else is decoded by Pillow. Writing mirrors this: Pillow writes 8-bit files with
their metadata; OpenCV encodes 16-bit PNG/TIFF and the ICC profile (and, for PNG, EXIF) is spliced into
the encoded bytes afterwards.

Safety: the pixel count is checked from the header before any pixel is decoded, so a small file that
claims to be a huge image is refused cheaply; writes go to a temporary file in the target folder that is
fsync'ed and renamed over the target, so a crash never leaves a half-written image behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
import tempfile
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageCms, UnidentifiedImageError, features

from restore_cli.errors import ImageReadError, ImageWriteError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "READ_FORMATS",
    "WRITE_EXTENSIONS",
    "Image",
    "merge_y",
    "quantize",
    "read_image",
    "resize_alpha",
    "rgb_to_y",
    "write_image",
]

#: Pillow's own hard refusal threshold (2 x ``PIL.Image.MAX_IMAGE_PIXELS``), kept as our default.
DEFAULT_MAX_PIXELS = 178_956_970

#: Pillow format name -> the ``Image.format`` we report. MPO is what Pillow calls many camera JPEGs.
READ_FORMATS: dict[str, str] = {
    "PNG": "png",
    "JPEG": "jpeg",
    "MPO": "jpeg",
    "WEBP": "webp",
    "TIFF": "tiff",
    "BMP": "bmp",
}

#: Output file extension -> format written.
WRITE_EXTENSIONS: dict[str, str] = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".webp": "webp",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".bmp": "bmp",
}

_SIXTEEN_BIT_FORMATS = frozenset({"png", "tiff"})
# BMP is not among them: a 32-bit BMP's fourth byte is read back by most programs, Pillow included, as padding,
# so the colour under transparent pixels would show; it is flattened onto white like JPEG.
_ALPHA_FORMATS = frozenset({"png", "webp", "tiff"})
_ORIENTATION_TAG = 0x0112
_ICC_TIFF_TAG = 34675
_GRAY_PIL_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_SUPPORTED_TEXT = "PNG, JPEG, WebP, TIFF or BMP"
# Plugins Pillow may try (MPO files are opened by the JPEG plugin, which reports them as MPO).
_PIL_OPEN_FORMATS = ["PNG", "JPEG", "WEBP", "TIFF", "BMP"]

Mode = Literal["gray", "rgb", "rgba", "graya"]


@dataclass(frozen=True, eq=False)
class Image:
    """A decoded image, upright, as float32 in [0, 1], with what is needed to write it back faithfully.

    Attributes:
        rgb: H x W x 3 (colour) or H x W x 1 (gray) float32 array in [0, 1], already rotated per EXIF.
        alpha: H x W float32 array in [0, 1], or None when the file has no alpha channel.
        bit_depth: 8 or 16: the precision of the source samples (float TIFFs report 16).
        mode: ``'gray'``, ``'rgb'``, ``'rgba'`` or ``'graya'``.
        icc_profile: the embedded ICC profile, or None.
        exif: the raw EXIF block with its orientation reset to 1 (the pixels are already upright), or None.
        format: ``'png'``, ``'jpeg'``, ``'webp'``, ``'tiff'`` or ``'bmp'``.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    mode: Mode
    icc_profile: bytes | None = None
    exif: bytes | None = None
    format: str = "png"

    @property
    def height(self) -> int:
        """Rows of the upright image."""
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        """Columns of the upright image."""
        return int(self.rgb.shape[1])

    @property
    def channels(self) -> int:
        """Colour channels (1 or 3), not counting alpha."""
        return int(self.rgb.shape[2])


# ----------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------


def read_image(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Read an image file into an upright float32 :class:`Image`.

    Args:
        path: the file to read (PNG, JPEG, WebP, TIFF or BMP; 8- or 16-bit).
        max_pixels: refuse images with more pixels than this, checked from the header before decoding.

    Returns:
        The decoded image with EXIF orientation applied, alpha split off and metadata kept.

    Raises:
        ImageReadError: the file is missing, a folder, unreadable, empty, not a supported image,
            truncated or corrupt, or larger than ``max_pixels``. ``reason`` is one line.
    """
    p = Path(path)
    data = _read_bytes(p)
    with _pillow_limit(max_pixels):
        pil = _open_header(p, data, max_pixels)
        fmt = READ_FORMATS[str(pil.format)]
        try:
            if _needs_opencv(pil, data, fmt):
                color, alpha, depth, icc = _decode_opencv(p, pil, data, fmt)
            else:
                color, alpha, depth, icc = _decode_pillow(pil)
            orientation, exif = _exif_of(pil)
        except ImageReadError:
            raise
        except MemoryError as e:
            raise ImageReadError(p, "not enough memory to decode this image") from e
        except Exception as e:  # decoders raise many unrelated types for bad data
            raise ImageReadError(p, f"corrupt or truncated image data ({_one_line(e)})") from e
    color = _orient(color, orientation)
    if alpha is not None:
        alpha = _orient(alpha, orientation)
    return Image(
        rgb=np.ascontiguousarray(color, dtype=np.float32),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        bit_depth=depth,
        mode=_mode_name(color.shape[2], alpha is not None),
        icc_profile=icc,
        exif=exif,
        format=fmt,
    )


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(height, width) of an image file as :func:`read_image` would return it (EXIF orientation applied),
    from its header alone: cheap enough to check an existing output before skipping it."""
    p = Path(path)
    try:
        with PILImage.open(p, formats=_PIL_OPEN_FORMATS) as pil:
            width, height = pil.size
            orientation, _ = _exif_of(pil)
    except OSError as e:
        raise ImageReadError(p, f"cannot read its header ({_one_line(e)})") from e
    return (width, height) if orientation >= 5 else (height, width)  # 5-8 turn the image a quarter


def _read_bytes(p: Path) -> bytes:
    """Read the whole file, turning every OS-level failure into a one-line ImageReadError."""
    try:
        with open(p, "rb") as f:
            data = f.read()
    except FileNotFoundError as e:
        raise ImageReadError(p, "no such file; check the path") from e
    except IsADirectoryError as e:
        raise ImageReadError(p, "is a folder, not an image file") from e
    except PermissionError as e:
        raise ImageReadError(p, "permission denied; check the file's permissions") from e
    except OSError as e:
        if p.is_dir():
            raise ImageReadError(p, "is a folder, not an image file") from e
        raise ImageReadError(p, f"cannot be read ({e.strerror or _one_line(e)})") from e
    if not data:
        raise ImageReadError(p, "file is empty (0 bytes)")
    return data


_PILLOW_LIMIT_LOCK = threading.RLock()


@contextlib.contextmanager
def _pillow_check_lifted() -> Iterator[None]:
    """Switch Pillow's own decompression-bomb check off for the duration (under a lock)."""
    with _PILLOW_LIMIT_LOCK:
        limit = PILImage.MAX_IMAGE_PIXELS
        PILImage.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            PILImage.MAX_IMAGE_PIXELS = limit


@contextlib.contextmanager
def _pillow_limit(max_pixels: int) -> Iterator[None]:
    """Let our own ``max_pixels`` check be the only one when the caller asks for more than Pillow allows.

    Pillow refuses images above ``2 * PIL.Image.MAX_IMAGE_PIXELS`` on its own; a caller who raised
    ``max_pixels`` beyond that must be able to open such files, so Pillow's check is lifted for the
    duration. With the default limit nothing global is touched.
    """
    limit = PILImage.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
        if limit is None or max_pixels <= 2 * limit:
            yield
        else:
            with _pillow_check_lifted():
                yield


# Image kinds people pass that restore does not read, by their first bytes: named in the error.
_UNSUPPORTED_KINDS = ((b"GIF8", "a GIF image"), (b"8BPS", "a Photoshop document"), (b"%PDF", "a PDF document"),
                      (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"), (b"\xff\x0a", "a JPEG XL image"))


def _open_header(p: Path, data: bytes, max_pixels: int) -> PILImage.Image:
    """Parse the header only, and refuse unsupported kinds and oversize images before decoding."""
    try:
        try:
            pil = PILImage.open(io.BytesIO(data), formats=_PIL_OPEN_FORMATS)
        except PILImage.DecompressionBombError:
            # Pillow refused on size alone; reopen without its check so our message can give the size.
            with _pillow_check_lifted():
                pil = PILImage.open(io.BytesIO(data), formats=_PIL_OPEN_FORMATS)
    except UnidentifiedImageError as e:
        kind = next((name for magic, name in _UNSUPPORTED_KINDS if data.startswith(magic)), None)
        if kind is not None:
            raise ImageReadError(p, f"{kind} is not supported; convert it to PNG first") from e
        raise ImageReadError(p, f"not a {_SUPPORTED_TEXT} image (unrecognised content)") from e
    except Exception as e:
        raise ImageReadError(p, f"corrupt or truncated image header ({_one_line(e)})") from e
    w, h = pil.size
    if w <= 0 or h <= 0:
        raise ImageReadError(p, f"image has an empty size ({w}x{h})")
    if w * h > max_pixels:
        raise ImageReadError(
            p,
            f"image is {w}x{h} = {w * h} pixels, more than the limit of {max_pixels}; "
            "raise the limit (--max-pixels) if you trust this file",
        )
    return pil


def _needs_opencv(pil: PILImage.Image, data: bytes, fmt: str) -> bool:
    """True for PNG/TIFF files whose samples are wider than 8 bits (Pillow would truncate colour ones)."""
    if fmt == "png":
        return len(data) > 25 and data[12:16] == b"IHDR" and data[24] == 16
    if fmt == "tiff":
        bits = pil.tag_v2.get(258, 8)  # type: ignore[attr-defined]
        bits = bits if isinstance(bits, tuple) else (bits,)
        return max(int(b) for b in bits) > 8
    return False


def _decode_opencv(
    p: Path, pil: PILImage.Image, data: bytes, fmt: str
) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None]:
    """Decode 16-bit/float PNG or TIFF pixels with OpenCV; Pillow's header decides gray vs colour."""
    if fmt == "png":
        # Pillow's decode checks CRCs and truncation and reads chunks after IDAT (eXIf); OpenCV does not.
        pil.load()
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageReadError(p, "corrupt or truncated image data (OpenCV could not decode it)")
    if arr.dtype == np.uint8:
        depth, values = 8, arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        depth, values = 16, arr.astype(np.float32) / 65535.0
    elif arr.dtype in (np.float32, np.float64):
        depth, values = 16, np.clip(np.nan_to_num(arr.astype(np.float32)), 0.0, 1.0)
    else:
        raise ImageReadError(p, f"unsupported sample format {arr.dtype}; convert to 8- or 16-bit first")
    gray = pil.mode in _GRAY_PIL_MODES
    alpha = None
    if values.ndim == 2:
        color = values[..., None]
    elif values.shape[2] == 4:
        alpha = values[..., 3]
        color = values[..., :1] if gray else values[..., 2::-1]
    elif values.shape[2] == 3:
        color = values[..., :1] if gray else values[..., ::-1]
    elif values.shape[2] == 2:
        color, alpha = values[..., :1], values[..., 1]
    else:
        raise ImageReadError(p, f"unsupported channel count {values.shape[2]}")
    return color, alpha, depth, pil.info.get("icc_profile") or None


def _decode_pillow(pil: PILImage.Image) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None]:
    """Decode any 8-bit (or 16-bit gray) image through Pillow, converting exotic modes sensibly."""
    pil.load()
    icc = pil.info.get("icc_profile") or None
    mode = pil.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(pil).astype(np.float32)[..., None] / 65535.0, None, 16, icc
    if mode == "I":
        values = np.clip(np.asarray(pil), 0, 65535).astype(np.float32)
        return values[..., None] / 65535.0, None, 16, icc
    if mode == "F":
        values = np.clip(np.nan_to_num(np.asarray(pil, dtype=np.float32)), 0.0, 1.0)
        return values[..., None], None, 16, icc
    if mode == "CMYK":
        return _cmyk_to_rgb(pil, icc), None, 8, None
    if mode in ("LA", "La") or (mode in ("1", "L") and "transparency" in pil.info):
        la = _u8(pil.convert("LA"))
        return la[..., :1], la[..., 1], 8, icc
    if mode in ("1", "L"):
        return _u8(pil.convert("L"))[..., None], None, 8, icc
    has_alpha = any(b in ("A", "a") for b in pil.getbands()) or "transparency" in pil.info
    if has_alpha:
        rgba = _u8(pil.convert("RGBA"))
        return rgba[..., :3], rgba[..., 3], 8, icc
    return _u8(pil.convert("RGB")), None, 8, icc


def _u8(pil: PILImage.Image) -> np.ndarray:
    """An 8-bit Pillow image as float32 in [0, 1]."""
    return np.asarray(pil, dtype=np.float32) / 255.0


def _cmyk_to_rgb(pil: PILImage.Image, icc: bytes | None) -> np.ndarray:
    """CMYK -> RGB through the embedded profile when there is one (the naive formula otherwise).

    The output is untagged sRGB, so the (CMYK) profile is not passed on.
    """
    if icc:
        with contextlib.suppress(Exception):
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            out = ImageCms.profileToProfile(pil, src, dst, outputMode="RGB")
            if out is not None:
                return _u8(out)
    return _u8(pil.convert("RGB"))


def _exif_of(pil: PILImage.Image) -> tuple[int, bytes | None]:
    """The EXIF orientation (1..8) and the raw EXIF block with the orientation reset to 1."""
    try:
        orientation = int(pil.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:
        orientation = 1
    if orientation not in range(1, 9):
        orientation = 1
    raw = pil.info.get("exif")
    if not isinstance(raw, bytes) or not raw:
        return orientation, None
    return orientation, _reset_orientation(raw)


def _reset_orientation(raw: bytes) -> bytes:
    """Set the orientation tag of an EXIF block to 1 in place, keeping every other byte.

    Editing the one SHORT value (rather than re-serialising through Pillow) keeps maker notes and
    offsets intact. Unparsable blocks are returned unchanged.
    """
    head = 6 if raw.startswith(b"Exif\x00\x00") else 0
    buf = bytearray(raw)
    try:
        order = {b"II": "<", b"MM": ">"}[bytes(buf[head : head + 2])]
        (ifd,) = struct.unpack_from(order + "I", buf, head + 4)
        (count,) = struct.unpack_from(order + "H", buf, head + ifd)
        for k in range(count):
            entry = head + ifd + 2 + 12 * k
            tag, typ = struct.unpack_from(order + "HH", buf, entry)
            if tag == _ORIENTATION_TAG and typ == 3:
                struct.pack_into(order + "H", buf, entry + 8, 1)
                break
    except (KeyError, struct.error):
        return raw
    return bytes(buf)


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation ``orientation`` to an H x W (x C) array so the result displays upright.

    Matches ``PIL.ImageOps.exif_transpose``: 2 mirror, 3 rotate 180, 4 flip, 5 transpose,
    6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
    """
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:
        return a.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(a, k=-1)
    if orientation == 7:
        return a.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(a, k=1)
    return a


def _mode_name(channels: int, has_alpha: bool) -> Mode:
    """The :class:`Image` mode name for a channel count and alpha presence."""
    if channels == 1:
        return "graya" if has_alpha else "gray"
    return "rgba" if has_alpha else "rgb"


def _one_line(e: BaseException) -> str:
    """An exception as a single line (messages from decoders sometimes span several)."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# ----------------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------------


def quantize(x: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """Float samples -> unsigned integers the way BasicSR's ``tensor2img`` does it.

    Clamp to [0, 1], multiply by 255 (or 65535) in float32, round half to even (``np.round``), cast.
    NaNs become 0 so a bad model output cannot produce undefined integers.

    Args:
        x: float array in [0, 1] (values outside are clamped).
        bit_depth: 8 -> uint8, 16 -> uint16.

    Returns:
        The quantised array, same shape.
    """
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    top = np.float32(255.0 if bit_depth == 8 else 65535.0)
    v = np.clip(np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0), 0.0, 1.0) * top
    return np.round(v).astype(np.uint8 if bit_depth == 8 else np.uint16)


def write_image(
    path: str | os.PathLike[str],
    image: Image | np.ndarray,
    *,
    bit_depth: int | None = None,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    quality: int = 95,
    png_compression: int = 6,
) -> None:
    """Write an image atomically; the format comes from the file extension.

    PNG and TIFF are written with 16-bit samples when ``bit_depth`` is 16; JPEG, WebP and BMP are always
    8-bit. Alpha is kept except in JPEG and BMP: there the image is flattened onto white. The
    ICC profile is embedded in every format but BMP (and 16-bit TIFF keeps it too); EXIF is embedded in
    JPEG, PNG and WebP only. Samples are quantised with :func:`quantize` (clamp, scale, round half to
    even).

    Args:
        path: target file; its folder must exist. An existing file is replaced atomically.
        image: an :class:`Image` (its alpha/ICC/EXIF/bit depth are the defaults for the options below)
            or a float array H x W, H x W x 1 or H x W x 3 in [0, 1] (uint8/uint16 arrays are written
            as they are).
        bit_depth: 8 or 16; defaults to the :class:`Image`'s, or 8 for arrays.
        alpha: H x W float alpha in [0, 1] to store alongside the colour.
        icc_profile: ICC profile bytes to embed.
        exif: EXIF bytes to embed (for example :attr:`Image.exif`).
        quality: JPEG/WebP quality 1..100; WebP at 100 is written lossless.
        png_compression: zlib level of PNG output, 0 (fastest, largest) to 9; lossless at every level.
            6 (Pillow's default); 1 encodes a 4K photo about 3x faster for files ~20% larger.

    Raises:
        ImageWriteError: unknown extension, missing or unwritable folder, target is a folder, encoding
            or disk failure. Nothing is left behind at ``path`` (or beside it) on failure.
        ValueError: inconsistent arguments (bad bit depth, shape or alpha size): a programming error.
    """
    p = Path(path)
    if isinstance(image, Image):
        color = image.rgb
        alpha = image.alpha if alpha is None else alpha
        icc_profile = image.icc_profile if icc_profile is None else icc_profile
        exif = image.exif if exif is None else exif
        bit_depth = image.bit_depth if bit_depth is None else bit_depth
    else:
        color = np.asarray(image)
    bit_depth = 8 if bit_depth is None else bit_depth
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    if (isinstance(quality, int) and not 1 <= quality <= 100) or not 0 <= png_compression <= 9:
        raise ValueError(f"quality must be 1..100 and png_compression 0..9, got {quality}, {png_compression}")
    fmt = WRITE_EXTENSIONS.get(p.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted({e.lstrip(".") for e in WRITE_EXTENSIONS}))
        raise ImageWriteError(p, f"unknown image extension {p.suffix!r}; use one of {known}")
    depth = 16 if (bit_depth == 16 and fmt in _SIXTEEN_BIT_FORMATS) else 8
    if alpha is not None and fmt not in _ALPHA_FORMATS:
        color, alpha = _flatten_on_white(color, alpha), None
    samples = _samples(color, alpha, depth)
    try:
        if depth == 16:
            payload = _encode_16(samples, fmt, icc_profile, exif, png_compression)
        else:
            payload = _encode_8(samples, fmt, icc_profile, exif, quality, png_compression)
    except Exception as e:
        raise ImageWriteError(p, f"could not encode {fmt.upper()} ({_one_line(e)})") from e
    _atomic_write(p, payload)


def _flatten_on_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite colour over white, for a format without alpha (JPEG).

    Transparent pixels hold arbitrary colour (often black), which dropping the alpha would show: image
    editors flatten onto white when they export JPEG, and so do we. Opaque images pass through unchanged.
    """
    a = np.asarray(alpha, dtype=np.float32)
    a = a.reshape(a.shape[0], a.shape[1], 1)  # H x W or H x W x 1
    if a.min(initial=1.0) >= 1.0:
        return color
    c = np.asarray(color)
    top = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(c.dtype, 1.0)
    c = c.astype(np.float32) / top
    if c.ndim == 2:
        c = c[..., None]
    if a.shape[:2] != c.shape[:2]:
        raise ValueError(f"alpha shape {a.shape[:2]} does not match image size {c.shape[:2]}")
    return c * a + (1.0 - a)


def _samples(color: np.ndarray, alpha: np.ndarray | None, depth: int) -> np.ndarray:
    """Colour (+ alpha) -> one H x W x C integer array of the target depth (C = 1, 2, 3 or 4)."""
    if color.ndim == 2:
        color = color[..., None]
    if color.ndim != 3 or color.shape[2] not in (1, 3):
        raise ValueError(f"expected an H x W, H x W x 1 or H x W x 3 image, got shape {color.shape}")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.ndim == 3 and alpha.shape[2] == 1:
            alpha = alpha[..., 0]
        if alpha.shape != color.shape[:2]:
            raise ValueError(f"alpha shape {alpha.shape} does not match image size {color.shape[:2]}")
        color = np.concatenate([_to_int(color, depth), _to_int(alpha[..., None], depth)], axis=2)
        return color
    return _to_int(color, depth)


def _to_int(x: np.ndarray, depth: int) -> np.ndarray:
    """Quantise floats; pass integer arrays through (rescaled when their depth differs)."""
    if x.dtype == np.uint8:
        return x if depth == 8 else x.astype(np.uint16) * 257
    if x.dtype == np.uint16:
        return x if depth == 16 else quantize(x.astype(np.float32) / 65535.0, 8)
    return quantize(x, depth)


def _encode_8(s: np.ndarray, fmt: str, icc: bytes | None, exif: bytes | None, quality: int,
              png_compression: int) -> bytes:
    """Encode 8-bit samples with Pillow, embedding ICC/EXIF where the format allows."""
    channels = s.shape[2]
    if fmt in ("webp", "bmp") and channels in (1, 2):
        # Neither format has gray+alpha; WebP has no gray at all. Replicate gray into colour.
        s = np.concatenate([np.repeat(s[..., :1], 3, axis=2), s[..., 1:]], axis=2)
        channels = s.shape[2]
    pil_mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    pil = PILImage.fromarray(np.ascontiguousarray(s if channels > 1 else s[..., 0]), mode=pil_mode)
    opts: dict[str, object] = {}
    if icc and fmt != "bmp":
        opts["icc_profile"] = icc
    if exif and fmt in ("jpeg", "png", "webp"):
        opts["exif"] = exif
    if fmt == "png":
        opts["compress_level"] = int(png_compression)
    elif fmt == "jpeg":
        opts["quality"] = int(quality)
    elif fmt == "webp":
        opts["quality"] = int(quality)
        opts["lossless"] = quality >= 100
    elif fmt == "tiff" and features.check("libtiff"):
        opts["compression"] = "tiff_lzw"  # Pillow compresses TIFF only through libtiff
    buf = io.BytesIO()
    pil.save(buf, format=fmt.upper(), **opts)
    return buf.getvalue()


def _encode_16(s: np.ndarray, fmt: str, icc: bytes | None, exif: bytes | None, png_compression: int) -> bytes:
    """Encode 16-bit samples with OpenCV, then splice in the ICC profile (and EXIF for PNG).

    OpenCV has no gray+alpha encoder, so 16-bit gray+alpha is stored as RGBA with gray replicated.
    """
    if s.shape[2] == 2:
        s = np.concatenate([np.repeat(s[..., :1], 3, axis=2), s[..., 1:]], axis=2)
    if s.shape[2] == 3:
        s = s[..., ::-1]
    elif s.shape[2] == 4:
        s = s[..., [2, 1, 0, 3]]
    params = [cv2.IMWRITE_PNG_COMPRESSION, int(png_compression)] if fmt == "png" else []
    ok, buf = cv2.imencode(".png" if fmt == "png" else ".tiff", np.ascontiguousarray(s), params)
    if not ok:
        raise RuntimeError("OpenCV refused to encode the image")
    data = buf.tobytes()
    if fmt == "png":
        return _png_add_chunks(data, icc, exif)
    return _tiff_add_icc(data, icc) if icc else data


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC of type + data."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_add_chunks(data: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    """Insert iCCP and eXIf chunks right after IHDR (both must precede IDAT)."""
    if not icc and not exif:
        return data
    end_ihdr = 8 + 12 + struct.unpack(">I", data[8:12])[0]
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    return data[:end_ihdr] + extra + data[end_ihdr:]


def _tiff_add_icc(data: bytes, icc: bytes) -> bytes:
    """Append the ICC profile and a copy of IFD0 that also points at it (tag 34675) to a classic TIFF.

    The old IFD stays in the file unreferenced; every offset it held is still valid because nothing
    before the end of the file moves. BigTIFF (not produced for images this size) is left untouched.
    """
    order = {b"II": "<", b"MM": ">"}[data[:2]]
    if struct.unpack_from(order + "H", data, 2)[0] != 42:
        return data
    (ifd,) = struct.unpack_from(order + "I", data, 4)
    (count,) = struct.unpack_from(order + "H", data, ifd)
    entries = [data[ifd + 2 + 12 * k : ifd + 14 + 12 * k] for k in range(count)]
    (next_ifd,) = struct.unpack_from(order + "I", data, ifd + 2 + 12 * count)
    out = bytearray(data)
    if len(out) % 2:
        out += b"\x00"
    icc_at = len(out)
    out += icc
    if len(out) % 2:
        out += b"\x00"
    new_ifd = len(out)
    entries = [e for e in entries if struct.unpack_from(order + "H", e)[0] != _ICC_TIFF_TAG]
    entries.append(struct.pack(order + "HHII", _ICC_TIFF_TAG, 7, len(icc), icc_at))
    entries.sort(key=lambda e: struct.unpack_from(order + "H", e)[0])
    out += struct.pack(order + "H", len(entries)) + b"".join(entries) + struct.pack(order + "I", next_ifd)
    struct.pack_into(order + "I", out, 4, new_ifd)
    return bytes(out)


def _atomic_write(p: Path, payload: bytes) -> None:
    """Write ``payload`` to a temp file beside ``p``, fsync it, then rename it over ``p``."""
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ImageWriteError(p, f"folder {parent} does not exist; create it first")
    if p.is_dir():
        raise ImageWriteError(p, "is a folder; give a file name")
    try:
        mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else (0o666 & ~current_umask())
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    except PermissionError as e:
        raise ImageWriteError(p, f"permission denied writing to folder {parent}") from e
    except OSError as e:
        raise ImageWriteError(p, f"cannot write to folder {parent} ({e.strerror or _one_line(e)})") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise ImageWriteError(p, f"write failed ({e.strerror or _one_line(e)})") from e
        raise
    _fsync_dir(parent)


def current_umask() -> int:
    """The process umask, read without changing it (Linux), else the common 022."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself; best effort (not possible on every OS/file system)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ----------------------------------------------------------------------------------------------------
# Colour helpers
# ----------------------------------------------------------------------------------------------------

# Full-range BT.601 luma, as JPEG (JFIF) and OpenCV's RGB2GRAY define it.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma (0.299 R + 0.587 G + 0.114 B) of an H x W x 3 float image, as H x W x 1.

    Why full range and not the studio-range Y of the metrics: grayscale JPEG models are trained on
    images read with OpenCV's grayscale flag (this very formula), and a JPEG file stores exactly this
    JFIF Y plane, so it is the channel that carries the artefacts. Gray (H x W x 1) input is returned
    unchanged.
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.ndim == 3 and rgb.shape[2] == 1:
        return rgb
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 image, got shape {rgb.shape}")
    return (rgb @ _LUMA)[..., None]


def merge_y(y: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Replace the luma of ``rgb`` by ``y`` while keeping its chroma (JFIF Cb/Cr), clipped to [0, 1].

    In full-range YCbCr every RGB channel equals Y plus a function of (Cb, Cr) alone, so changing Y
    with the chroma fixed adds the same ``y - rgb_to_y(rgb)`` to R, G and B. This is how a gray JPEG
    model restores a colour picture: restore :func:`rgb_to_y` of it, then merge the result back.

    Args:
        y: H x W or H x W x 1 restored luma in [0, 1].
        rgb: H x W x 3 original colour image (same size) supplying the chroma.

    Returns:
        H x W x 3 float32 image.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y[..., None]
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.shape[2] == 1:
        return np.clip(y, 0.0, 1.0)
    if y.shape[:2] != rgb.shape[:2]:
        raise ValueError(f"luma size {y.shape[:2]} does not match colour size {rgb.shape[:2]}")
    return np.clip(rgb + (y - rgb_to_y(rgb)), 0.0, 1.0)


def resize_alpha(alpha: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Resize an alpha plane to the restored image's size (bicubic, clipped to [0, 1]).

    Restoration models see only the colour; alpha is carried over by plain interpolation, which is
    what users expect for masks and cut-outs and costs nothing.
    """
    a = np.asarray(alpha, dtype=np.float32)
    if a.shape == (out_h, out_w):
        return a.copy()
    out = cv2.resize(a, (int(out_w), int(out_h)), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0.0, 1.0)

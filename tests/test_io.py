"""restore_cli.io: round trips per format and depth, metadata, orientation, and every error path."""

from __future__ import annotations

import io as stdio
import os
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps

from restore_cli import io
from restore_cli.errors import ImageReadError, ImageWriteError

RNG = np.random.default_rng(1234)


def _rgb(h: int = 13, w: int = 17, c: int = 3) -> np.ndarray:
    return RNG.random((h, w, c), dtype=np.float32)


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _q(x: np.ndarray, depth: int) -> np.ndarray:
    top = 255.0 if depth == 8 else 65535.0
    return np.round(np.clip(x, 0, 1) * np.float32(top)) / top


# ---------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3])
def test_lossless_round_trip(tmp_path, ext, depth, channels):
    x = _rgb(c=channels)
    p = tmp_path / f"a{ext}"
    io.write_image(p, x, bit_depth=depth)
    img = io.read_image(p)
    assert img.bit_depth == depth
    assert img.mode == ("gray" if channels == 1 else "rgb")
    assert img.rgb.dtype == np.float32 and img.rgb.shape == x.shape
    assert img.alpha is None
    np.testing.assert_array_equal(img.rgb, _q(x, depth).astype(np.float32))


@pytest.mark.parametrize("ext", [".jpg", ".bmp"])
def test_transparency_is_flattened_onto_white_where_the_format_keeps_no_alpha(tmp_path, ext):
    x = np.zeros((8, 10, 3), np.float32)  # black under the transparent left half
    x[:, 5:] = 0.5
    a = np.zeros((8, 10), np.float32)
    a[:, 5:] = 1.0
    p = tmp_path / f"a{ext}"
    io.write_image(p, x, alpha=a)
    img = io.read_image(p)
    assert img.alpha is None and img.rgb[:, :4].min() > 0.95 and abs(img.rgb[:, 6:].mean() - 0.5) < 0.05


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("depth", [8, 16])
def test_rgba_round_trip_keeps_alpha(tmp_path, ext, depth):
    x, a = _rgb(), RNG.random((13, 17), dtype=np.float32)
    p = tmp_path / f"a{ext}"
    io.write_image(p, x, bit_depth=depth, alpha=a)
    img = io.read_image(p)
    assert img.mode == "rgba" and img.bit_depth == depth
    np.testing.assert_array_equal(img.rgb, _q(x, depth).astype(np.float32))
    np.testing.assert_array_equal(img.alpha, _q(a, depth).astype(np.float32))


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_gray_alpha_round_trip_8bit(tmp_path, ext):
    x, a = _rgb(c=1), RNG.random((13, 17), dtype=np.float32)
    p = tmp_path / f"a{ext}"
    io.write_image(p, x, bit_depth=8, alpha=a)
    img = io.read_image(p)
    assert img.mode == "graya"
    np.testing.assert_array_equal(img.rgb, _q(x, 8).astype(np.float32))
    np.testing.assert_array_equal(img.alpha, _q(a, 8).astype(np.float32))


def test_gray_alpha_16bit_png_keeps_values(tmp_path):
    # OpenCV cannot encode gray+alpha, so it is stored as RGBA with gray replicated: values survive.
    x, a = _rgb(c=1), RNG.random((13, 17), dtype=np.float32)
    p = tmp_path / "a.png"
    io.write_image(p, x, bit_depth=16, alpha=a)
    img = io.read_image(p)
    assert img.bit_depth == 16 and img.alpha is not None
    np.testing.assert_array_equal(img.rgb[..., 0], _q(x, 16)[..., 0].astype(np.float32))
    np.testing.assert_array_equal(img.alpha, _q(a, 16).astype(np.float32))


def test_lossless_webp_and_bmp(tmp_path):
    x = _rgb()
    for name, kw in (("a.webp", {"quality": 100}), ("a.bmp", {})):
        io.write_image(tmp_path / name, x, **kw)
        img = io.read_image(tmp_path / name)
        assert img.bit_depth == 8 and img.format == name.split(".")[1]
        np.testing.assert_array_equal(img.rgb, _q(x, 8).astype(np.float32))


def test_jpeg_is_8bit_and_drops_alpha(tmp_path):
    x = np.full((16, 16, 3), 0.5, np.float32)
    p = tmp_path / "a.jpg"
    io.write_image(p, x, bit_depth=16, alpha=np.ones((16, 16), np.float32))
    img = io.read_image(p)
    assert img.format == "jpeg" and img.bit_depth == 8 and img.alpha is None and img.mode == "rgb"
    assert np.abs(img.rgb - 0.5).max() < 2 / 255


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_jpeg_flattens_transparency_onto_white(tmp_path, dtype):
    """Dropping the alpha would show the colour hidden under transparent pixels (here black)."""
    x = np.zeros((16, 24, 3), dtype)
    alpha = np.ones((16, 24), np.float32)
    alpha[:, :8] = 0.0  # transparent: white
    alpha[:, 8:16] = 0.5  # half: mid grey
    io.write_image(tmp_path / "a.jpg", x, alpha=alpha)
    rgb = io.read_image(tmp_path / "a.jpg").rgb
    assert rgb[:, :6].min() > 0.97
    assert np.abs(rgb[:, 10:14] - 0.5).max() < 0.04
    assert rgb[:, 18:].max() < 0.03
    # PNG keeps the alpha and the colour as they are
    io.write_image(tmp_path / "a.png", x, alpha=alpha)
    png = io.read_image(tmp_path / "a.png")
    assert png.rgb.max() == 0 and png.alpha is not None and png.alpha[0, 0] == 0


def test_16bit_rgb_png_is_not_truncated(tmp_path):
    # Pillow alone would read a 16-bit RGB PNG as 8-bit; values one 16-bit step apart must survive.
    a = np.zeros((4, 5, 3), np.uint16)
    a[..., 0] = 1000
    a[..., 1] = 1001
    a[..., 2] = 65535
    p = tmp_path / "x.png"
    cv2.imwrite(str(p), a[..., ::-1])  # OpenCV writes BGR
    img = io.read_image(p)
    assert img.bit_depth == 16 and img.mode == "rgb"
    np.testing.assert_array_equal(io.quantize(img.rgb, 16), a)


def test_write_accepts_image_and_integer_arrays(tmp_path):
    u16 = RNG.integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    io.write_image(tmp_path / "a.png", u16, bit_depth=16)
    img = io.read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(io.quantize(img.rgb, 16), u16)
    io.write_image(tmp_path / "b.png", img)  # an Image carries its own bit depth
    assert io.read_image(tmp_path / "b.png").bit_depth == 16


def test_palette_and_bilevel_are_converted(tmp_path):
    rgb = (RNG.random((9, 11, 3)) * 255).astype(np.uint8)
    pal = PILImage.fromarray(rgb).convert("P")
    pal.save(tmp_path / "p.png", transparency=0)
    img = io.read_image(tmp_path / "p.png")
    assert img.mode == "rgba"
    np.testing.assert_array_equal(img.rgb * 255, np.asarray(pal.convert("RGB"), dtype=np.float32))
    PILImage.fromarray(rgb).convert("1").save(tmp_path / "b.png")
    img = io.read_image(tmp_path / "b.png")
    assert img.mode == "gray" and set(np.unique(img.rgb)) <= {0.0, 1.0}


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    PILImage.new("CMYK", (8, 6), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    img = io.read_image(tmp_path / "c.jpg")
    assert img.mode == "rgb" and img.rgb.shape == (6, 8, 3)
    assert img.rgb[..., 0].mean() > 0.9 and img.rgb[..., 1:].mean() < 0.1  # pure red


# ----------------------------------------------------------------------------------------- metadata


def _oriented_source() -> np.ndarray:
    # Distinct, smooth quadrants so JPEG coding cannot confuse orientations.
    a = np.zeros((32, 48, 3), np.uint8)
    a[:16, :24] = (250, 10, 10)
    a[:16, 24:] = (10, 250, 10)
    a[16:, :24] = (10, 10, 250)
    a[16:, 24:] = (250, 250, 250)
    return a


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_and_reset(tmp_path, orientation):
    src = PILImage.fromarray(_oriented_source())
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "restore-test"  # Make: must survive
    p = tmp_path / "o.jpg"
    src.save(p, quality=100, subsampling=0, exif=exif.tobytes())
    img = io.read_image(p)
    expected = np.asarray(ImageOps.exif_transpose(PILImage.open(p)), dtype=np.float32) / 255
    assert img.rgb.shape == expected.shape
    np.testing.assert_array_equal(img.rgb, expected)
    kept = PILImage.Exif()
    kept.load(img.exif)
    assert kept[0x0112] == 1 and kept[0x010F] == "restore-test"


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_exif_orientation_png_and_tiff(tmp_path, ext):
    src = PILImage.fromarray(_oriented_source())
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    p = tmp_path / f"o{ext}"
    src.save(p, exif=exif.tobytes())
    img = io.read_image(p)
    np.testing.assert_array_equal(img.rgb, np.rot90(_oriented_source(), k=-1).astype(np.float32) / 255)


@pytest.mark.parametrize("name,depth", [("a.png", 8), ("a.png", 16), ("a.tif", 8), ("a.tif", 16),
                                        ("a.jpg", 8), ("a.webp", 8)])
def test_icc_profile_is_kept(tmp_path, name, depth):
    icc = _srgb_icc()
    io.write_image(tmp_path / name, _rgb(), bit_depth=depth, icc_profile=icc)
    assert io.read_image(tmp_path / name).icc_profile == icc
    assert PILImage.open(tmp_path / name).info.get("icc_profile") == icc  # other readers see it too


@pytest.mark.parametrize("name,depth", [("a.png", 8), ("a.png", 16), ("a.jpg", 8), ("a.webp", 8)])
def test_exif_is_written(tmp_path, name, depth):
    exif = PILImage.Exif()
    exif[0x010F] = "restore-test"
    io.write_image(tmp_path / name, _rgb(), bit_depth=depth, exif=exif.tobytes())
    back = io.read_image(tmp_path / name)
    assert back.exif is not None
    parsed = PILImage.Exif()
    parsed.load(back.exif)
    assert parsed[0x010F] == "restore-test"


# ------------------------------------------------------------------------------------------- errors


def _read_error(p, **kw) -> str:
    with pytest.raises(ImageReadError) as ei:
        io.read_image(p, **kw)
    assert isinstance(ei.value, OSError)
    assert "\n" not in ei.value.reason
    return ei.value.reason


def test_missing_file(tmp_path):
    assert "no such file" in _read_error(tmp_path / "nope.png")


def test_empty_file(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    assert "empty" in _read_error(tmp_path / "e.png")


def test_directory(tmp_path):
    assert "folder" in _read_error(tmp_path)


def test_text_named_png(tmp_path):
    (tmp_path / "t.png").write_text("hello, I am not an image\n")
    assert "not a PNG, JPEG, WebP, TIFF or BMP image" in _read_error(tmp_path / "t.png")


@pytest.mark.parametrize("depth", [8, 16])
def test_truncated_png(tmp_path, depth):
    p = tmp_path / "a.png"
    io.write_image(p, _rgb(64, 64), bit_depth=depth)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    assert "corrupt or truncated" in _read_error(p)


def test_truncated_jpeg(tmp_path):
    p = tmp_path / "a.jpg"
    io.write_image(p, _rgb(64, 64))
    p.write_bytes(p.read_bytes()[:300])
    assert "corrupt or truncated" in _read_error(p)


def test_corrupt_png_crc(tmp_path):
    p = tmp_path / "a.png"
    io.write_image(p, _rgb(32, 32))
    data = bytearray(p.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF
    p.write_bytes(bytes(data))
    _read_error(p)


def test_unsupported_format(tmp_path):
    PILImage.new("RGB", (4, 4)).save(tmp_path / "a.ico")
    assert "not a PNG" in _read_error(tmp_path / "a.ico")
    PILImage.new("RGB", (4, 4)).save(tmp_path / "a.gif")  # a kind people pass: named
    assert "a GIF image is not supported" in _read_error(tmp_path / "a.gif")


def _png_header_only(w: int, h: int) -> bytes:
    """A PNG that claims w x h RGB pixels but holds almost no pixel data (decoding it would fail)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))


def test_pixel_limit_checked_before_decoding(tmp_path):
    # A valid header claiming 100000 x 100000 pixels with no pixel data: must be refused on the header.
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(100_000, 100_000))
    reason = _read_error(p)
    assert "100000x100000" in reason and "limit" in reason
    io.write_image(tmp_path / "small.png", _rgb(10, 10))
    assert "limit of 99" in _read_error(tmp_path / "small.png", max_pixels=99)
    assert io.read_image(tmp_path / "small.png", max_pixels=100).rgb.shape == (10, 10, 3)


def test_pixel_limit_can_exceed_pillows(tmp_path):
    # Raising max_pixels above Pillow's own bomb limit must let our check decide (header only here).
    p = tmp_path / "big.png"
    p.write_bytes(_png_header_only(20_000, 20_000))
    reason = _read_error(p, max_pixels=500_000_000)  # passes the size check, then fails on data
    assert "corrupt or truncated" in reason
    assert PILImage.MAX_IMAGE_PIXELS is not None  # restored afterwards


def test_permission_denied(tmp_path, monkeypatch):
    p = tmp_path / "a.png"
    io.write_image(p, _rgb())

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", deny)
    assert "permission denied" in _read_error(p)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything")
def test_permission_denied_for_real(tmp_path):
    p = tmp_path / "a.png"
    io.write_image(p, _rgb())
    p.chmod(0)
    assert "permission denied" in _read_error(p)


# -------------------------------------------------------------------------------------------- writes


def test_write_unknown_extension(tmp_path):
    with pytest.raises(ImageWriteError, match="unknown image extension"):
        io.write_image(tmp_path / "a.xyz", _rgb())
    assert list(tmp_path.iterdir()) == []


def test_write_missing_folder_and_folder_target(tmp_path):
    with pytest.raises(ImageWriteError, match="does not exist"):
        io.write_image(tmp_path / "no" / "a.png", _rgb())
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ImageWriteError, match="is a folder"):
        io.write_image(tmp_path / "d.png", _rgb())


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a.png"

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(ImageWriteError, match="No space left"):
        io.write_image(target, _rgb())
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a.png"
    io.write_image(target, np.zeros((4, 4, 3), np.float32))
    before = target.read_bytes()

    def boom(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ImageWriteError):
        io.write_image(target, np.ones((4, 4, 3), np.float32))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_atomic_write_replaces_and_sets_mode(tmp_path):
    target = tmp_path / "a.png"
    io.write_image(target, np.zeros((4, 4, 3), np.float32))
    target.chmod(0o640)
    io.write_image(target, np.ones((4, 4, 3), np.float32))
    assert io.read_image(target).rgb.min() == 1.0
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_encoding_failure_is_write_error(tmp_path):
    with pytest.raises(ImageWriteError, match="could not encode"):
        io.write_image(tmp_path / "a.jpg", _rgb(), quality="high")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_value_errors(tmp_path):
    with pytest.raises(ValueError):
        io.write_image(tmp_path / "a.png", _rgb(), bit_depth=12)
    with pytest.raises(ValueError):
        io.write_image(tmp_path / "a.png", _rgb(), alpha=np.ones((3, 3), np.float32))


# ------------------------------------------------------------------------------------ colour helpers


def test_quantize_rounds_half_to_even_and_clamps():
    x = np.array([-0.1, 0.5 / 255, 1.5 / 255, 2.5 / 255, 1.2, np.nan], np.float32)
    np.testing.assert_array_equal(io.quantize(x), [0, 0, 2, 2, 255, 0])
    assert io.quantize(np.ones(1), 16)[0] == 65535 and io.quantize(np.ones(1), 16).dtype == np.uint16


def test_rgb_to_y_matches_opencv_gray():
    u8 = (RNG.random((20, 30, 3)) * 255).astype(np.uint8)
    y = io.rgb_to_y(u8.astype(np.float32) / 255)
    assert y.shape == (20, 30, 1)
    ref = cv2.cvtColor(u8, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    assert np.abs(y[..., 0] - ref).max() <= 0.51 / 255  # OpenCV rounds to uint8


def test_merge_y_keeps_chroma_and_sets_luma():
    rgb = RNG.random((8, 9, 3), dtype=np.float32) * 0.5 + 0.25  # away from the clip limits
    y_new = io.rgb_to_y(rgb) + 0.05
    out = io.merge_y(y_new, rgb)
    np.testing.assert_allclose(io.rgb_to_y(out), y_new, atol=1e-6)
    chroma = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 1:]
    np.testing.assert_allclose(cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)[..., 1:], chroma, atol=1e-6)
    np.testing.assert_array_equal(io.merge_y(io.rgb_to_y(rgb), rgb), np.clip(rgb, 0, 1))


def test_resize_alpha():
    a = np.zeros((4, 6), np.float32)
    a[:, 3:] = 1
    out = io.resize_alpha(a, 8, 12)
    assert out.shape == (8, 12) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert out[:, 0].max() == 0 and out[:, -1].min() == 1
    np.testing.assert_array_equal(io.resize_alpha(a, 4, 6), a)


def test_read_from_bytes_like_pillow_would(tmp_path):
    # Sanity: our decode equals Pillow's for an ordinary 8-bit PNG.
    arr = (RNG.random((10, 12, 3)) * 255).astype(np.uint8)
    buf = stdio.BytesIO()
    PILImage.fromarray(arr).save(buf, format="PNG")
    (tmp_path / "a.png").write_bytes(buf.getvalue())
    np.testing.assert_array_equal(io.read_image(tmp_path / "a.png").rgb * 255, arr.astype(np.float32))


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_png_compression_trades_size_for_speed_losslessly(tmp_path, bit_depth):
    from skimage import data

    photo = data.astronaut()[:128, :160].astype(np.float32) / 255
    for level in (0, 9):
        io.write_image(tmp_path / f"{level}.png", photo, bit_depth=bit_depth, png_compression=level)
    assert (tmp_path / "0.png").stat().st_size > 1.5 * (tmp_path / "9.png").stat().st_size
    a, b = (io.read_image(tmp_path / f"{level}.png") for level in (0, 9))
    assert a.bit_depth == b.bit_depth == bit_depth and np.array_equal(a.rgb, b.rgb)
    with pytest.raises(ValueError):
        io.write_image(tmp_path / "x.png", photo, png_compression=10)


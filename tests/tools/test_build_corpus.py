"""tools/build_corpus.py without the network: splits, quality estimate, downscaling, .edj, licences, manifest."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def bc(load_tool):
    return load_tool("build_corpus")


def _jpeg(arr: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def test_split_is_a_fixed_rule_by_name(bc):
    assert bc.split_for("enlightenment__Snow-Trees") == "val"
    assert bc.split_for("mate__Storm") == "val"
    assert bc.split_for("sporco__kodim23") == "test"
    assert bc.split_for("skimage__astronaut") == "test"
    assert bc.split_for("skimage__rocket") == "train"
    assert bc.split_for("enlightenment__Bamboo") == "train"
    # every val name is a photo the manifest lists, and every training source keeps photos to train on
    listed = {f"{p.prefix}__{p.stems[i] if i < len(p.stems) else Path(f).stem}"
              for p in bc.PACKAGES for i, f in enumerate(p.files)}
    assert bc.VAL_NAMES.issubset(listed)
    for key in ("enlightenment", "lomiri16", "mate", "plasma", "tuxpaint"):
        names = [n for n in listed if n.startswith(key + "__")]
        assert any(bc.split_for(n) == "val" for n in names) and any(bc.split_for(n) == "train" for n in names)


@pytest.mark.parametrize("q", [30, 50, 71, 85, 95])
def test_jpeg_quality_estimate(bc, q):
    img = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    with Image.open(io.BytesIO(_jpeg(img, q))) as im:
        assert bc.estimate_jpeg_quality(list(im.quantization[0])) == q


def test_downscale_factor_rule(bc):
    assert bc.choose_factor(lossless=True, quality=None, bpp=12, short_side=512) == 1
    assert bc.choose_factor(lossless=False, quality=99, bpp=5.0, short_side=2160) == 2
    assert bc.choose_factor(lossless=False, quality=85, bpp=0.9, short_side=2000) == 2
    assert bc.choose_factor(lossless=False, quality=80, bpp=1.0, short_side=2000) == 3
    assert bc.choose_factor(lossless=False, quality=70, bpp=0.4, short_side=2000) == 4
    assert bc.choose_factor(lossless=False, quality=70, bpp=0.4, short_side=638) == 2  # never below 2 if lossy


def test_box_downscale_is_the_block_mean(bc):
    img = np.random.default_rng(1).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    out = bc.box_downscale(img, 2)
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8
    expected = img[:8, :12].astype(float).reshape(4, 2, 6, 2, 3).mean(axis=(1, 3))
    np.testing.assert_array_equal(out, np.round(expected).astype(np.uint8))
    gray = np.full((6, 6), 7, np.uint8)
    np.testing.assert_array_equal(bc.box_downscale(gray, 3), np.full((2, 2), 7, np.uint8))
    assert bc.box_downscale(img, 1) is img


def _eet(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A minimal EET v2 file: header, directory, names, data (the layout of photo_corpus.md §6.2)."""
    n = len(entries)
    head = 12 + 24 * n
    names = b"".join(name.encode() + b"\0" for name, _, _ in entries)
    directory, name_off, data_off = b"", head, head + len(names)
    blobs = b""
    for name, blob, flags in entries:
        nlen = len(name) + 1
        directory += struct.pack(">6I", data_off + len(blobs), len(blob), len(blob), name_off, nlen, flags)
        name_off += nlen
        blobs += blob
    return struct.pack(">III", 0x1EE70F42, n, 0) + directory + names + blobs


def test_edj_reader_keeps_the_largest_jpeg(bc):
    big = _jpeg(np.zeros((20, 30, 3), np.uint8), 90)
    small = _jpeg(np.zeros((10, 15, 3), np.uint8), 90)
    data = _eet([("edje/images/1", small, 0), ("edje/images/0", big, 0), ("edje/collections/0", b"xx", 0),
                 ("edje/images/2", b"\xff\xd8\xffcompressed", 1)])
    entries = bc.edj_jpegs(data)
    assert [k for k, _ in entries] == ["edje/images/1", "edje/images/0"]
    assert bc.largest_jpeg(entries) == ("edje/images/0", big)
    with pytest.raises(ValueError):
        bc.edj_jpegs(b"\0" * 12)


def test_dep5_licences(bc):
    text = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2015 Someone
License: GPL-2+

Files: 16.04/seeding_by_Clements_Engelhardt.jpg
Copyright: Clemens Engelhardt
License: CC0-1.0
 Public domain dedication.

Files: 16.04/*_by_Aitzol_Berasategi.jpg
Copyright: Aitzol Berasategi
 and friends
License: CC-BY-SA-4.0

Files: debian/*
Copyright: Packager
License: GPL-3
"""
    stanzas = bc.parse_dep5(text)
    assert len(stanzas) == 4
    pick = bc.licence_for
    assert pick("usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg", stanzas).licence == "CC0-1.0"
    hit = pick("usr/share/backgrounds/x/16.04/life_by_Aitzol_Berasategi.jpg", stanzas)
    assert hit.licence == "CC-BY-SA-4.0" and "friends" in hit.copyright
    assert pick("usr/share/backgrounds/other.jpg", stanzas).licence == "GPL-2+"


def test_process_package_writes_targets_and_manifest(bc, tmp_path):
    rng = np.random.default_rng(0)
    photo = _jpeg((rng.random((900, 1000, 3)) * 255).astype(np.uint8), 95)
    png = io.BytesIO()
    Image.fromarray((rng.random((60, 80, 3)) * 255).astype(np.uint8)).save(png, format="PNG")
    pkg = bc.Package("mate", "debian", "mate-backgrounds", "1.26.0-1", "GPL-2+", "authors",
                     ("mate/nature/Storm.jpg", "mate/nature/Dune.png", "mate/nature/Missing.jpg"))
    files = {
        "mate/nature/Storm.jpg": ("usr/share/backgrounds/mate/nature/Storm.jpg", photo),
        "mate/nature/Dune.png": ("usr/share/backgrounds/mate/nature/Dune.png", png.getvalue()),
        "copyright": ("usr/share/doc/mate-backgrounds/copyright", b"Files: *\nCopyright: MATE\nLicense: GPL-2+\n"),
    }
    rows = bc.process_package(pkg, files, tmp_path)
    assert [r.name for r in rows] == ["mate__Storm", "mate__Dune"]
    storm, dune = rows
    assert storm.split == "val" and storm.jpeg_quality == 95 and storm.downscale == 2
    assert (storm.out_width, storm.out_height) == (500, 450) and (tmp_path / storm.out_file).is_file()
    assert dune.split == "train" and dune.downscale == 1 and dune.jpeg_quality is None
    assert storm.licence == "GPL-2+" and storm.copyright == "MATE"
    bc.write_manifest(rows, tmp_path, meta={"sources": "test"})
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert doc["counts"] == {"train": 1, "val": 1, "test": 0}
    assert [p["name"] for p in doc["photos"]] == ["mate__Dune", "mate__Storm"]
    csv_text = (tmp_path / "manifest.csv").read_text()
    assert csv_text.splitlines()[0].startswith("name,split,registry,package,version,path")
    again = bc.process_package(pkg, files, tmp_path / "again")
    assert [r.out_sha256 for r in again] == [r.out_sha256 for r in rows]  # reproducible


def test_select_packages(bc):
    default = bc.select_packages("default")
    assert {p.group for p in default} == {"default"} and any(p.key == "enlightenment" for p in default)
    assert [p.key for p in bc.select_packages("mate,sporco")] == ["mate", "sporco"]
    assert len(bc.select_packages("stdlib")) == 9
    with pytest.raises(SystemExit):
        bc.select_packages("nonsense")

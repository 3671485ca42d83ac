"""Tiny models as local cards, so the task commands run end to end with no network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

TINY_V1 = {"img_range": 1.0, "d_state": 4, "depths": [1], "embed_dim": 30, "mlp_ratio": 1.0,
           "resi_connection": "1conv"}


def make_card(folder: Path, card_id: str, task: str, kwargs: dict, param: tuple[str, int] | None = None,
              seed: int = 0) -> Path:
    """Write a card whose weights (a seeded tiny MambaIR) sit beside it as a bundled file."""
    from restore_cli.archs import from_official

    torch.manual_seed(seed)
    model = from_official("MambaIR", kwargs)
    weights = folder / f"{card_id}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    lines = [f'id = "{card_id}"', f'task = "{task}"']
    if param is not None:
        lines.append(f"{param[0]} = {param[1]}")
    lines += [f'bundled = "{weights.name}"', "[arch]", 'class = "MambaIR"', "[arch.kwargs]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in kwargs.items()]
    path = folder / f"{card_id}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def cards(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cards")
    return {
        "sr": make_card(folder, "tiny-sr-x2", "sr", {**TINY_V1, "upscale": 2, "in_chans": 3,
                                                     "upsampler": "pixelshuffledirect"}, ("scale", 2)),
        "denoise": make_card(folder, "tiny-dn", "denoise", {**TINY_V1, "upscale": 1, "in_chans": 3,
                                                           "upsampler": ""}, ("sigma", 25)),
        "jpeg": make_card(folder, "tiny-jpeg", "jpeg", {**TINY_V1, "upscale": 1, "in_chans": 1,
                                                       "upsampler": ""}, ("quality", 30)),
    }


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """An isolated restore home with no network."""
    # TORCHINDUCTOR_CACHE_DIR: None unsets it for the call and restores it after (--compile points it into
    # the restore home when unset, which must not outlive the test)
    return {"RESTORE_HOME": str(tmp_path / "home"), "HF_HUB_CACHE": str(tmp_path / "home" / "hub"),
            "HF_HUB_OFFLINE": "1", "RESTORE_OFFLINE": "1", "COLUMNS": "200", "TORCHINDUCTOR_CACHE_DIR": None}


def make_photo(path: Path, size: tuple[int, int] = (24, 20), mode: str = "RGB", seed: int = 0) -> Path:
    """A small natural-looking image (a crop of scikit-image's astronaut), saved with Pillow."""
    from skimage import data

    rng = np.random.default_rng(seed)
    img = data.astronaut()
    y, x = rng.integers(0, 400, size=2)
    crop = img[y : y + size[1], x : x + size[0]]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(crop).convert(mode).save(path)
    return path


@pytest.fixture
def photo():
    """Factory: ``photo(path, size=(w, h), mode="RGB", seed=0)`` writes a small real photo crop."""
    return make_photo

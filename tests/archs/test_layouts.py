"""Every released configuration builds with exactly the official state_dict layout.

For each entry of tests/fixtures/official_layouts.json (produced by instantiating the official classes),
the model built by ``from_official`` from the official kwargs must have the same keys, shapes and
dtypes, and the same trainable parameter count, so the released checkpoints load with ``strict=True``.
Key order is not compared: strict loading does not depend on it.

Models are built on the ``meta`` device (no memory, no initialisation), so even the 34M-parameter
configurations take well under a second; a family whose constructor cannot run on ``meta`` falls back
to the CPU. Families whose module is not importable yet are skipped, not failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from restore_cli.archs import from_official, get_arch

LAYOUTS: dict[str, dict] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "official_layouts.json").read_text()
)


def build_or_skip(class_name: str, kwargs: dict) -> nn.Module:
    try:
        get_arch(class_name)
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"{class_name} is not implemented yet ({exc})")
    try:
        with torch.device("meta"):
            return from_official(class_name, kwargs)
    except (NotImplementedError, RuntimeError):
        return from_official(class_name, kwargs)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_state_dict_layout(name: str) -> None:
    entry = LAYOUTS[name]
    model = build_or_skip(entry["official_class"], entry["kwargs"])
    ours = {k: (list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()}
    official = {k: (list(shape), dtype) for k, shape, dtype in entry["state_dict"]}
    missing = sorted(official.keys() - ours.keys())
    unexpected = sorted(ours.keys() - official.keys())
    assert not missing and not unexpected, f"missing {missing[:5]}, unexpected {unexpected[:5]}"
    wrong = {k: (ours[k], official[k]) for k in official if ours[k] != official[k]}
    assert not wrong, f"(ours, official) differ for {dict(list(wrong.items())[:5])}"
    assert sum(p.numel() for p in model.parameters()) == entry["params"]


def test_every_family_is_covered() -> None:
    classes = {e["official_class"] for e in LAYOUTS.values()}
    assert classes == {"MambaIR", "MambaIRv2", "MambaIRv2Light", "MambaIRUNet"}

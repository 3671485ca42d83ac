"""tools/evaluate_card.py: reproduces a run's own validation number from its exported card."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from restore_cli.train import TrainConfig, train


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny denoiser trained for two steps and exported in float32 (so nothing is rounded away)."""
    root = tmp_path_factory.mktemp("evalcard")
    rng = np.random.default_rng(0)
    for split, n in (("train", 2), ("val", 2)):
        (root / "data" / split).mkdir(parents=True)
        for i in range(n):
            Image.fromarray((rng.random((24, 24, 3)) * 255).astype(np.uint8)).save(root / "data" / split / f"{i}.png")
    torch.manual_seed(0)
    result = train(TrainConfig(
        task="denoise", arch="tiny", data=str(root / "data"), val_degradations=("noise:25",), val_crop=16,
        patch=8, batch_size=2, steps=2, warmup_steps=1, val_every=1000, out_dir=str(root / "run"),
        device="cpu", workers=0, export_fp16=False, seed=3,
    ))
    return result, root


def test_reproduces_the_runs_validation_and_writes_json(exported, load_tool, capsys, tmp_path):
    result, root = exported
    tool = load_tool("evaluate_card")
    out = tmp_path / "numbers.json"
    assert tool.main([str(result.export[1]), "--folder", str(root / "data" / "val"), "--crop", "16",
                      "--self-ensemble", "--per-image", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = json.loads(out.read_text())
    assert len(rows) == 1 and rows[0]["plain"]["images"] == 2
    assert rows[0]["plain"]["psnr"] == pytest.approx(result.validation.psnr, abs=1e-9)
    assert rows[0]["plain"]["baseline_psnr"] == pytest.approx(result.validation.baseline_psnr, abs=1e-9)
    assert rows[0]["ensemble"]["psnr"] != rows[0]["plain"]["psnr"]  # the ensemble really ran
    assert f"{result.validation.psnr:.2f} / " in printed and "| 0.png |" in printed and "x8 self-ensemble" in printed


def test_inputs_follow_the_cards_seed(exported, load_tool, tmp_path):
    """The validation noise is drawn from the card's seed: another seed, other inputs."""
    result, root = exported
    tool = load_tool("evaluate_card")
    card, weights = result.export[1], result.export[0]
    text = card.read_text()
    assert "seed = 3" in text
    (tmp_path / weights.name).write_bytes(weights.read_bytes())
    (tmp_path / card.name).write_text(text.replace("seed = 3", "seed = 4"))
    kw = dict(crop=16, self_ensemble=False, device=torch.device("cpu"))
    same = tool.measure(card, root / "data" / "val", **kw)
    other = tool.measure(tmp_path / card.name, root / "data" / "val", **kw)
    assert same.plain.baseline_psnr == pytest.approx(result.validation.baseline_psnr, abs=1e-9)
    assert other.plain.baseline_psnr != pytest.approx(same.plain.baseline_psnr, abs=1e-6)


def test_a_bundled_model_by_its_catalog_id(load_tool, tmp_path, monkeypatch):
    """The shipped derain model, named by id, gains on a real photo degraded with its card's recipe."""
    from skimage import data

    monkeypatch.setenv("RESTORE_OFFLINE", "1")
    (tmp_path / "photos").mkdir()
    Image.fromarray(data.astronaut()[200:264, 200:264]).save(tmp_path / "photos" / "astronaut.png")
    tool = load_tool("evaluate_card")
    m = tool.measure("restore-derain-laformer", tmp_path / "photos", crop=0, self_ensemble=False,
                     device=torch.device("cpu"))
    assert m.card == "restore-derain-laformer" and m.plain.images == 1
    assert "Y" in m.plain.convention  # the card's task picked the deraining convention
    assert m.plain.psnr - m.plain.baseline_psnr > 5.0

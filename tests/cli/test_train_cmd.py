"""`restore train` through the CLI: tiny runs, resume message, export, and option errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import typer
from PIL import Image
from typer.testing import CliRunner

from restore_cli.cli.train_cmd import register


@pytest.fixture(autouse=True)
def _scan(monkeypatch):
    """Train on the reference scan while the CPU fast path is inference-only (it uses in-place ops)."""
    from restore_cli.ops.scan import reference, torch_chunked

    u = torch.rand(1, 2, 5, requires_grad=True)
    try:
        torch_chunked.selective_scan_chunked(u, torch.rand(1, 2, 5), -torch.rand(2, 3), torch.rand(1, 3, 5),
                                             torch.rand(1, 3, 5))
    except RuntimeError:
        monkeypatch.setattr(torch_chunked, "selective_scan_chunked", reference.selective_scan_reference)
    torch.set_num_threads(1)


@pytest.fixture
def app():
    a = typer.Typer()
    register(a)

    @a.command()
    def _other() -> None:  # a second command, so typer keeps `train` as a sub-command
        pass

    return a


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 2), ("val", 1)):
        (tmp_path / "data" / split).mkdir(parents=True)
        for i in range(n):
            img = (rng.random((40, 40, 3)) * 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / "data" / split / f"{i}.png")
    return tmp_path / "data"


def _args(photos, out, *extra):
    return ["train", "--task", "denoise", "--arch", "tiny", "--data", str(photos), "--patch", "8", "--batch-size",
            "2", "--max-steps", "2", "--warmup", "1", "--out", str(out), "--device", "cpu", "--workers", "0",
            "--val-degrade", "noise:25", *extra]


def test_train_runs_validates_and_exports(app, photos, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, _args(photos, tmp_path / "run", "--export-id", "restore-denoise-test",
                                      "--rescale", "0.5"))
    assert result.exit_code == 0, result.output
    assert "finished at step 2/2" in result.output and "PSNR" in result.output
    card = (tmp_path / "run" / "export" / "restore-denoise-test.toml").read_text()
    assert 'task = "denoise"' in card and "sigma = 25" in card and "[training]" in card
    assert "rescale = 0.5" in card
    assert (tmp_path / "run" / "export" / "restore-denoise-test.safetensors").is_file()


def test_budget_then_resume(app, photos, tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, _args(photos, tmp_path / "run", "--max-minutes", "0.000001", "--no-export"))
    assert first.exit_code == 0, first.output
    assert "paused (time budget)" in first.output and "step 1/2" in first.output
    second = runner.invoke(app, _args(photos, tmp_path / "run", "--no-export"))
    assert second.exit_code == 0, second.output
    assert "resumed" in second.output and "finished at step 2/2" in second.output


@pytest.mark.parametrize("extra,message", [
    (["--arch-kwargs", "{nope"], "not valid JSON"),
    (["--degrade", "sharpen"], "unknown degradation"),
    (["--loss", "l3"], "--loss"),
    (["--rescale", "2"], "--rescale"),
])
def test_bad_options_are_one_line_errors(app, photos, tmp_path, extra, message):
    result = CliRunner().invoke(app, _args(photos, tmp_path / "run", *extra))
    assert result.exit_code == 2
    assert message in result.output


def test_sr_needs_a_scale(app, photos, tmp_path):
    result = CliRunner().invoke(app, ["train", "--task", "sr", "--data", str(photos), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "--scale" in result.output

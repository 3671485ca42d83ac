"""`restore models list|info|download|verify|import` through typer's CliRunner (fake Hub for downloads)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: fakehub
import fakehub

from restore_cli.cli.app import app

runner = CliRunner()
REPO, FILE = "cguoh/MambaIR", "MambaIRv1_ckpt/tiny_x2.pth"
TINY = {"upscale": 2, "in_chans": 3, "img_size": 64, "img_range": 1.0, "d_state": 4, "depths": [1],
        "embed_dim": 30, "mlp_ratio": 2.0, "upsampler": "pixelshuffle", "resi_connection": "1conv"}


def invoke(args: list[str], home: Path, **env: str):
    base = {"RESTORE_HOME": str(home), "HF_HUB_CACHE": str(home / "hub"), "COLUMNS": "200", "HF_ENDPOINT": "",
            "RESTORE_OFFLINE": "", "HF_HUB_OFFLINE": ""}
    return runner.invoke(app, ["models", *args], env={**base, **env})


def tiny_card(folder: Path, card_id: str = "tiny-sr-x2") -> Path:
    lines = [f'id = "{card_id}"', 'task = "sr"', "scale = 2", "[arch]", 'class = "MambaIR"', "[arch.kwargs]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in TINY.items()]
    lines += ["[[sources]]", f'repo_id = "{REPO}"', f'filename = "{FILE}"']
    path = folder / f"{card_id}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_checkpoint() -> bytes:
    from restore_cli.archs import from_official

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save({"params": from_official("MambaIR", TINY).state_dict()}, buf)
    return buf.getvalue()


def test_list_shows_every_model(tmp_path):
    result = invoke(["list"], tmp_path)
    assert result.exit_code == 0, result.output
    for card_id in ("mambair-sr-x2", "mambairv2-large-x4", "mambairv2-jpeg-q40", "mambair-realdn"):
        assert card_id in result.stdout
    from restore_cli.cards import packaged_cards

    assert f"{len(packaged_cards())} models" in result.stdout and "Hub cguoh/MambaIR (+1)" in result.stdout
    rows = json.loads(invoke(["list", "--json", "--task", "denoise"], tmp_path).stdout)
    assert {r["id"] for r in rows} == {"mambair-dn-color-s15", "mambair-dn-color-s25", "mambair-dn-color-s50",
                                       "mambairv2-dn-color-s15", "restore-denoise"}
    # nothing downloaded yet; only the bundled model (shipped in the package) is there
    assert {r["id"] for r in rows if r["cached"] is not None} == {"restore-denoise"}
    typo = invoke(["list", "--task", "denoize"], tmp_path)  # not an empty table: an error naming the tasks
    assert typo.exit_code == 2 and "choose one of sr, denoise" in typo.output


def test_info_json(tmp_path):
    result = invoke(["info", "mambairv2-base-x4", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "mambairv2-base-x4" and data["task"] == "sr" and data["sha256"] is None
    first = data["sources"][0]
    assert (first["repo_id"], first["filename"], first["revision"]) == (
        "cguoh/MambaIR", "MambaIRv2_ckpt/mambairv2_classicSR_Base_x4.pth", "main")
    assert data["sources"][1]["url"].endswith("/releases/download/v1.0/mambairv2_classicSR_Base_x4.pth")
    assert data["sources"][1]["sha256"] is None and data["cached"] is None
    assert data["arch"]["kwargs"]["embed_dim"] == 174 and data["license"] == "Apache-2.0"
    text = invoke(["info", "mambairv2-base-x4"], tmp_path)
    assert "Urban100" in text.stdout and "27.89" in text.stdout and "MambaIRv2(" in text.stdout


def test_errors_are_one_line_on_stderr(tmp_path):
    result = invoke(["info", "mambairv2-base-x5"], tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "Did you mean mambairv2-base-x4" in result.stderr
    assert result.stdout == ""
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\n')
    result = invoke(["list", "--model-card", str(bad)], tmp_path)
    assert result.exit_code == 1 and "field 'task' is missing" in result.stderr
    assert invoke(["download"], tmp_path).exit_code == 2  # neither ids nor --all


def test_download_offline_without_cache_fails_with_next_step(tmp_path):
    result = invoke(["download", "mambairv2-light-x2", "--offline"], tmp_path)
    assert result.exit_code == 1
    assert "offline mode is on" in result.stderr and "restore models download mambairv2-light-x2" in result.stderr


def test_download_list_info_verify_with_a_fake_hub(tmp_path):
    pytest.importorskip("restore_cli.archs.mambair")
    data = tiny_checkpoint()
    card = tiny_card(tmp_path)
    with fakehub.FakeHub() as hub:
        hub.add_hub_file(REPO, FILE, data)
        result = invoke(["download", "tiny-sr-x2", "--model-card", str(card)], tmp_path, HF_ENDPOINT=hub.endpoint)
        assert result.exit_code == 0, result.output
        sha = hashlib.sha256(data).hexdigest()
        assert f"recorded sha256 {sha}" in result.stderr
        assert f"tiny-sr-x2: {tmp_path}/weights/tiny-sr-x2/{sha}.safetensors (from hf://" in result.stdout
        hub.log.clear()
        again = invoke(["download", "tiny-sr-x2", "--model-card", str(card)], tmp_path, HF_ENDPOINT=hub.endpoint)
        assert "(cached)" in again.stdout and hub.log == []
    listed = json.loads(invoke(["list", "--json", "--model-card", str(card)], tmp_path).stdout)
    assert next(r for r in listed if r["id"] == "tiny-sr-x2")["cached"]
    info = json.loads(invoke(["info", "tiny-sr-x2", "--json", "--model-card", str(card)], tmp_path).stdout)
    assert info["sources"][0]["recorded_sha256"] == sha and info["sha256"] is None
    verified = invoke(["verify", "--model-card", str(card)], tmp_path)
    assert verified.exit_code == 0 and "tiny-sr-x2" in verified.stdout and "ok" in verified.stdout


def test_verify_with_nothing_cached(tmp_path):
    result = invoke(["verify"], tmp_path)
    assert result.exit_code == 0
    assert "mambair-sr-x4" not in result.stdout  # only the bundled models are there to verify
    assert invoke(["verify", "mambair-sr-x4"], tmp_path).exit_code == 1  # named and missing


def test_import_registers_a_card(tmp_path):
    pytest.importorskip("restore_cli.archs.mambair")
    ckpt = tmp_path / "finetune.pth"
    ckpt.write_bytes(tiny_checkpoint())
    home = tmp_path / "home"
    result = invoke(["import", str(ckpt), "--id", "my-sr"], home)
    assert result.exit_code == 0, result.output
    assert "registered my-sr: MambaIR for sr x2" in result.stdout
    assert (home / "cards" / "my-sr.toml").is_file()
    listed = json.loads(invoke(["list", "--json", "--task", "sr"], home).stdout)
    assert next(r for r in listed if r["id"] == "my-sr")["cached"]
    clash = invoke(["import", str(ckpt), "--id", "my-sr"], home)
    assert clash.exit_code == 2 and "exists" in clash.stderr
    assert invoke(["import", str(ckpt), "--id", "my-sr", "--force"], home).exit_code == 0
    wrong = invoke(["import", str(ckpt), "--arch", "MambaIRv2Light"], home)
    assert wrong.exit_code == 1 and "not MambaIRv2Light" in wrong.stderr

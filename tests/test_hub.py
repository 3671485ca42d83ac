"""The weight manager against a fake Hub on 127.0.0.1: resolve, download, verify, convert, load, run.

The real huggingface_hub client talks to tests/fakehub.py (``endpoint=`` and ``cache_dir=`` are passed
explicitly, as the Hub's variables are read at import). Checkpoints are made here in the official
format, ``torch.save({'params': state_dict})`` of a tiny MambaIR.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
from pathlib import Path

import fakehub
import pytest
import torch

from restore_cli import hub
from restore_cli.cards import ModelCard, find_card, load_cards, read_card
from restore_cli.checkpoint import load_state_dict
from restore_cli.config import Settings
from restore_cli.errors import (
    CheckpointMismatchError,
    ChecksumMismatchError,
    UnknownCheckpointError,
    UsageError,
    WeightsUnavailableError,
)

pytest.importorskip("restore_cli.archs.mambair")
from restore_cli.archs import from_official

REPO = "cguoh/MambaIR"
FILE = "MambaIRv1_ckpt/tiny_x2.pth"
RELEASE_PATH = "/csguoh/MambaIR/releases/download/v1.0/tiny_x2.pth"
TINY = {"upscale": 2, "in_chans": 3, "img_size": 64, "img_range": 1.0, "d_state": 4, "depths": [1],
        "embed_dim": 30, "mlp_ratio": 2.0, "upsampler": "pixelshuffle", "resi_connection": "1conv"}


def _toml(value: object) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def write_card(folder: Path, *, sources: list[dict], kwargs: dict | None = None, card_id: str = "tiny-sr-x2",
               extra: str = "") -> ModelCard:
    """A card for the tiny MambaIR with the given sources, written as TOML and read back."""
    lines = [f'id = "{card_id}"', 'task = "sr"', "scale = 2", extra, "[arch]", 'class = "MambaIR"', "[arch.kwargs]"]
    lines += [f"{k} = {_toml(v)}" for k, v in (kwargs or TINY).items()]
    for src in sources:
        lines.append("[[sources]]")
        lines += [f"{k} = {_toml(v)}" for k, v in src.items()]
    path = folder / f"{card_id}.toml"
    path.write_text("\n".join(lines) + "\n")
    return read_card(path)


def official_checkpoint(kwargs: dict | None = None, seed: int = 0, *, prefix: str = "") -> tuple[bytes, dict]:
    """Bytes of a BasicSR-style checkpoint of the tiny model, and its state dict."""
    torch.manual_seed(seed)
    model = from_official("MambaIR", kwargs or TINY)
    sd = {prefix + k: v for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save({"params": sd}, buf)
    return buf.getvalue(), model.state_dict()


@pytest.fixture(scope="module")
def ckpt() -> tuple[bytes, dict]:
    return official_checkpoint()


@pytest.fixture
def server():
    with fakehub.FakeHub() as srv:
        yield srv


def hub_source(**extra: object) -> dict:
    return {"repo_id": REPO, "filename": FILE, "revision": "main", **extra}


def settings_for(tmp_path: Path, endpoint: str) -> Settings:
    return Settings.in_folder(tmp_path, hf_endpoint=endpoint)


def test_first_download_converts_loads_and_runs(tmp_path, server, ckpt):
    data, sd = ckpt
    server.add_hub_file(REPO, FILE, data)
    card = write_card(tmp_path, sources=[hub_source()])
    settings = settings_for(tmp_path, server.endpoint)

    result = hub.fetch_weights(card, settings=settings)

    assert [m for m, _, _ in server.log] == ["HEAD", "GET"]
    sha = hashlib.sha256(data).hexdigest()
    assert result.recorded and result.source_sha256 == sha and not result.from_cache
    assert result.path == settings.weights_dir / card.id / f"{sha}.safetensors"
    db = json.loads(settings.checksum_db.read_text())
    assert db["sources"][f"hf://{REPO}@main/{FILE}"]["sha256"] == sha
    # the converted file holds exactly the official weights and runs
    state = load_state_dict(result.path)
    assert set(state) == set(sd) and all(torch.equal(state[k], sd[k]) for k in sd)
    model = from_official(card.arch_class, card.kwargs_dict())
    model.load_state_dict(state, strict=True)
    reference = from_official("MambaIR", TINY)
    reference.load_state_dict(sd)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (1, 3, 16, 16)
        assert torch.equal(out, reference(x))


def test_second_resolve_makes_no_request(tmp_path, server, ckpt, monkeypatch):
    server.add_hub_file(REPO, FILE, ckpt[0])
    card = write_card(tmp_path, sources=[hub_source()])
    settings = settings_for(tmp_path, server.endpoint)
    first = hub.resolve_weights(card, settings=settings)
    server.log.clear()
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: pytest.fail("network used"))
    assert hub.resolve_weights(card, settings=settings) == first
    assert server.log == []
    assert hub.cached_weights(card, settings=settings) == first


def test_published_checksum_mismatch_deletes_the_download(tmp_path, server, ckpt):
    server.add_hub_file(REPO, FILE, ckpt[0])
    card = write_card(tmp_path, sources=[hub_source(sha256="0" * 64)])
    settings = settings_for(tmp_path, server.endpoint)
    with pytest.raises(ChecksumMismatchError, match="does not match"):
        hub.resolve_weights(card, settings=settings)
    blobs = list(settings.hub_cache_dir.glob("models--cguoh--MambaIR/blobs/*"))
    links = list(settings.hub_cache_dir.glob("models--cguoh--MambaIR/snapshots/*/**/*.pth"))
    assert blobs == [] and links == []
    assert not settings.weights_dir.exists()
    # the bad file is not reused: the next attempt downloads again (and fails again)
    server.log.clear()
    with pytest.raises(ChecksumMismatchError):
        hub.resolve_weights(card, settings=settings)
    assert [m for m, _, _ in server.log] == ["HEAD", "GET"]


def test_wrong_published_size_is_refused(tmp_path, server, ckpt):
    server.add_hub_file(REPO, FILE, ckpt[0])
    card = write_card(tmp_path, sources=[hub_source(size=len(ckpt[0]) + 1)])
    with pytest.raises(ChecksumMismatchError, match="bytes instead of"):
        hub.resolve_weights(card, settings=settings_for(tmp_path, server.endpoint))


def test_published_checksum_match_records_nothing(tmp_path, server, ckpt):
    server.add_hub_file(REPO, FILE, ckpt[0])
    sha = hashlib.sha256(ckpt[0]).hexdigest()
    card = write_card(tmp_path, sources=[hub_source(sha256=sha, size=len(ckpt[0]))])
    settings = settings_for(tmp_path, server.endpoint)
    result = hub.fetch_weights(card, settings=settings)
    assert not result.recorded and result.source_sha256 == sha
    assert json.loads(settings.checksum_db.read_text())["sources"] == {}


def test_trust_on_first_use_catches_a_changed_file(tmp_path, server, ckpt):
    server.add_hub_file(REPO, FILE, ckpt[0])
    card = write_card(tmp_path, sources=[hub_source()])
    settings = settings_for(tmp_path, server.endpoint)
    hub.resolve_weights(card, settings=settings)
    # lose every cache but the record; the server now serves other bytes under the same name
    import shutil

    shutil.rmtree(settings.weights_dir)
    shutil.rmtree(settings.hub_cache_dir)
    server.add_hub_file(REPO, FILE, official_checkpoint(seed=1)[0])
    with pytest.raises(ChecksumMismatchError, match="recorded at its first download"):
        hub.resolve_weights(card, settings=settings)


def test_hub_download_cut_once_is_resumed_and_verified(tmp_path, server, ckpt):
    server.add_hub_file(REPO, FILE, ckpt[0])
    server.state.truncate_once[server.hub_path(REPO, FILE)] = len(ckpt[0]) // 2
    card = write_card(tmp_path, sources=[hub_source()])
    result = hub.fetch_weights(card, settings=settings_for(tmp_path, server.endpoint))
    assert result.source_sha256 == hashlib.sha256(ckpt[0]).hexdigest()
    assert [m for m, _, _ in server.log].count("GET") == 2


@pytest.mark.slow  # huggingface_hub retries a broken stream 5 times, one second apart (~5 s)
def test_truncated_hub_download_is_not_used(tmp_path, server, ckpt):
    server.add_hub_file(REPO, FILE, ckpt[0])
    server.state.truncate[server.hub_path(REPO, FILE)] = len(ckpt[0]) // 2
    card = write_card(tmp_path, sources=[hub_source()])
    settings = settings_for(tmp_path, server.endpoint)
    with pytest.raises(WeightsUnavailableError, match=r"tiny_x2\.pth") as info:
        hub.resolve_weights(card, settings=settings)
    assert "restore models download tiny-sr-x2" in str(info.value)
    assert not settings.weights_dir.exists()
    assert not settings.checksum_db.exists()  # nothing was trusted
    assert not list(settings.hub_cache_dir.glob("models--cguoh--MambaIR/blobs/*"))
    # once the server behaves, the same call succeeds
    server.state.truncate.clear()
    assert hub.resolve_weights(card, settings=settings).is_file()


def test_truncated_release_download_fails_then_resumes(tmp_path, server, ckpt):
    url = server.add_url(RELEASE_PATH, ckpt[0])
    server.state.truncate[RELEASE_PATH] = 5000
    card = write_card(tmp_path, sources=[{"url": url}])
    settings = settings_for(tmp_path, server.endpoint)
    with pytest.raises(WeightsUnavailableError, match="stopped at 5000 of"):
        hub.resolve_weights(card, settings=settings)
    assert not settings.weights_dir.exists() and not settings.checksum_db.exists()
    server.state.truncate.clear()
    assert hub.resolve_weights(card, settings=settings).is_file()
    assert server.log[-1][2] == "bytes=5000-"


def test_404_everywhere_names_every_source(tmp_path, server, ckpt):
    server.add_hub_file(REPO, "MambaIRv1_ckpt/other.pth", ckpt[0])  # the repo exists, the file does not
    url = server.endpoint + RELEASE_PATH
    card = write_card(tmp_path, sources=[hub_source(confirmed=False), {"url": url}])
    with pytest.raises(WeightsUnavailableError) as info:
        hub.resolve_weights(card, settings=settings_for(tmp_path, server.endpoint))
    message = str(info.value)
    assert "no such file in the repository (the file name is inferred" in message
    assert f"{url} (HTTP 404" in message
    assert info.value.model_id == "tiny-sr-x2" and len(info.value.attempts) == 2


def test_unknown_repo_and_revision_are_reported(tmp_path, server, ckpt):
    server.add_hub_file(REPO, FILE, ckpt[0])
    card = write_card(tmp_path, sources=[{"repo_id": "nobody/nothing", "filename": FILE},
                                         hub_source(revision="v9")])
    with pytest.raises(WeightsUnavailableError) as info:
        hub.resolve_weights(card, settings=settings_for(tmp_path, server.endpoint))
    assert "repository not found" in str(info.value)
    assert "no revision 'v9'" in str(info.value)


def test_release_url_fallback_and_resume(tmp_path, server, ckpt):
    data = ckpt[0]
    url = server.add_url(RELEASE_PATH, data)
    server.state.truncate_once[RELEASE_PATH] = 1000
    card = write_card(tmp_path, sources=[hub_source(), {"url": url}])  # the Hub lacks the repo: 404
    settings = settings_for(tmp_path, server.endpoint)
    seen: list[tuple[int, int | None]] = []
    with pytest.raises(WeightsUnavailableError, match="resume"):
        hub.resolve_weights(card, settings=settings, progress=lambda d, t: seen.append((d, t)))
    parts = list(settings.downloads_dir.glob("*/*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size == 1000
    server.log.clear()
    path = hub.resolve_weights(card, settings=settings, progress=lambda d, t: seen.append((d, t)))
    gets = [(p, r) for m, p, r in server.log if p == RELEASE_PATH]
    assert gets == [(RELEASE_PATH, "bytes=1000-")]
    assert seen[-1] == (len(data), len(data))
    assert not list(settings.downloads_dir.glob("*/*.part"))
    assert set(load_state_dict(path)) == set(ckpt[1])


def test_layout_mismatch_is_refused(tmp_path, server):
    other = dict(TINY, embed_dim=33)
    server.add_hub_file(REPO, FILE, official_checkpoint(other)[0])
    card = write_card(tmp_path, sources=[hub_source()])
    settings = settings_for(tmp_path, server.endpoint)
    with pytest.raises(CheckpointMismatchError, match="shape mismatch"):
        hub.resolve_weights(card, settings=settings)
    assert not settings.weights_dir.exists()


def test_pickle_with_code_is_refused(tmp_path, server):
    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    torch.save({"params": {"w": torch.zeros(1)}, "evil": Boom()}, buf)
    server.add_hub_file(REPO, FILE, buf.getvalue())
    card = write_card(tmp_path, sources=[hub_source()])
    with pytest.raises(UnknownCheckpointError, match="refused to load"):
        hub.resolve_weights(card, settings=settings_for(tmp_path, server.endpoint))


def test_network_gone_then_offline(tmp_path, ckpt):
    state = fakehub.HubState(hub_files={(REPO, FILE): ckpt[0]})
    proc, endpoint = fakehub.serve_in_process(state)
    try:
        card = write_card(tmp_path, sources=[hub_source()])
        never = write_card(tmp_path, sources=[hub_source(filename="MambaIRv1_ckpt/never.pth")], card_id="never")
        settings = settings_for(tmp_path, endpoint)
        first = hub.resolve_weights(card, settings=settings)
    finally:
        proc.terminate()
        proc.join(10)
    assert not proc.is_alive()
    # with the server dead: the converted file is used as is
    assert hub.resolve_weights(card, settings=settings) == first
    # without it, offline mode rebuilds it from huggingface_hub's cache, making no request
    first.unlink()
    assert hub.resolve_weights(card, settings=settings, offline=True) == first
    # and a model never downloaded fails at once, saying what to do
    t0 = time.monotonic()
    with pytest.raises(WeightsUnavailableError, match="offline mode is on") as info:
        hub.resolve_weights(never, settings=settings, offline=True)
    assert time.monotonic() - t0 < 5
    assert "restore models download never" in str(info.value) and "--weights PATH" in str(info.value)


def test_settings_offline_switch_is_honoured(tmp_path, server, ckpt):
    server.add_hub_file(REPO, FILE, ckpt[0])
    card = write_card(tmp_path, sources=[hub_source()])
    settings = Settings.in_folder(tmp_path, hf_endpoint=server.endpoint, offline=True)
    with pytest.raises(WeightsUnavailableError, match="offline"):
        hub.resolve_weights(card, settings=settings)
    assert server.log == []


def test_bundled_card_needs_no_network(tmp_path):
    from restore_cli.checkpoint import save_safetensors

    torch.manual_seed(3)
    sd = from_official("MambaIR", TINY).state_dict()
    save_safetensors(sd, tmp_path / "restore-tiny-x2.safetensors")
    card = write_card(tmp_path, sources=[], card_id="restore-tiny-x2", extra='bundled = "restore-tiny-x2.safetensors"')
    settings = Settings.in_folder(tmp_path / "home", offline=True)
    assert hub.resolve_weights(card, settings=settings) == tmp_path / "restore-tiny-x2.safetensors"
    assert hub.verify_cached(card, settings=settings).state == "bundled"


def test_import_checkpoint_registers_a_user_card(tmp_path, ckpt):
    original = tmp_path / "My Finetune.pth"
    original.write_bytes(official_checkpoint(prefix="module.")[0])
    settings = Settings.in_folder(tmp_path / "home")
    card = hub.import_checkpoint(original, settings=settings, arch="MambaIR")
    assert card.id == "user-my-finetune" and card.task == "sr" and card.scale == 2
    assert card.sources[0].sha256 == hashlib.sha256(original.read_bytes()).hexdigest()
    assert (settings.cards_dir / "user-my-finetune.toml").is_file()
    loaded = find_card("user-my-finetune", settings=settings)
    assert loaded.origin == "user" and dict(loaded.kwargs_dict(), img_size=64) == dict(TINY, img_size=64)
    path = hub.resolve_weights(loaded, settings=Settings.in_folder(tmp_path / "home", offline=True))
    assert set(load_state_dict(path)) == set(ckpt[1])
    assert hub.verify_cached(loaded, settings=settings).state == "ok"
    # the id is taken now
    with pytest.raises(UsageError, match="exists"):
        hub.import_checkpoint(original, settings=settings)
    # a corrupted converted file is found, deleted, and rebuilt from the local source
    path.write_bytes(path.read_bytes()[:-1] + b"x")
    status = hub.verify_cached(loaded, settings=settings)
    assert status.state == "corrupt" and not path.exists()
    assert hub.resolve_weights(loaded, settings=settings) == path


def test_import_refuses_wrong_arch_and_needs_task_for_denoisers(tmp_path):
    original = tmp_path / "x.pth"
    original.write_bytes(official_checkpoint()[0])
    settings = Settings.in_folder(tmp_path / "home")
    with pytest.raises(UnknownCheckpointError, match="not MambaIRv2"):
        hub.import_checkpoint(original, settings=settings, arch="MambaIRv2")
    dn = dict(TINY, upscale=1)
    dn.pop("upsampler")
    (tmp_path / "dn.pth").write_bytes(official_checkpoint(dn)[0])
    with pytest.raises(UsageError, match="--task"):
        hub.import_checkpoint(tmp_path / "dn.pth", settings=settings)
    with pytest.raises(UsageError, match="--sigma"):
        hub.import_checkpoint(tmp_path / "dn.pth", settings=settings, task="denoise")
    card = hub.import_checkpoint(tmp_path / "dn.pth", settings=settings, task="denoise", sigma=25, model_id="my-dn")
    assert card.sigma == 25 and any(c.id == "my-dn" for c in load_cards(settings))


def test_verify_reports_missing(tmp_path):
    card = write_card(tmp_path, sources=[hub_source()])
    assert hub.verify_cached(card, settings=Settings.in_folder(tmp_path)).state == "missing"


# ------------------------------------------------------------------------------------- settings
def test_settings_from_env(tmp_path):
    env = {"HOME": str(tmp_path), "RESTORE_HOME": str(tmp_path / "r"), "HF_HOME": str(tmp_path / "hf"),
           "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://mirror.local/", "RESTORE_MAX_PIXELS": "1000"}
    s = Settings.from_env(env)
    assert (s.cache_dir, s.cards_dir, s.hub_cache_dir) == (tmp_path / "r", tmp_path / "r" / "cards",
                                                           tmp_path / "hf" / "hub")
    assert s.offline and s.hf_endpoint == "http://mirror.local" and s.max_pixels == 1000
    assert s.weights_dir == tmp_path / "r" / "weights" and s.checksum_db == tmp_path / "r" / "checksums.json"
    s = Settings.from_env({**env, "HF_HUB_CACHE": str(tmp_path / "hc"), "HF_HUB_OFFLINE": "0",
                           "RESTORE_CACHE_DIR": str(tmp_path / "c")})
    assert s.hub_cache_dir == tmp_path / "hc" and not s.offline and s.cache_dir == tmp_path / "c"
    assert Settings.from_env({"HOME": str(tmp_path), "RESTORE_OFFLINE": "yes"}).offline
    with pytest.raises(UsageError, match="RESTORE_MAX_PIXELS"):
        Settings.from_env({"HOME": str(tmp_path), "RESTORE_MAX_PIXELS": "lots"})
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        s.offline = True  # type: ignore[misc]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG folders are the Linux defaults")
def test_settings_defaults_follow_xdg(tmp_path):
    s = Settings.from_env({"HOME": str(tmp_path)})
    assert s.cache_dir == tmp_path / ".cache" / "restore"
    assert s.cards_dir == tmp_path / ".config" / "restore" / "cards"
    assert s.hub_cache_dir == tmp_path / ".cache" / "huggingface" / "hub"
    assert s.hf_endpoint is None and not s.offline
    s = Settings.from_env({"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xc"),
                           "XDG_CONFIG_HOME": str(tmp_path / "xg")})
    assert s.cache_dir == tmp_path / "xc" / "restore" and s.cards_dir == tmp_path / "xg" / "restore" / "cards"

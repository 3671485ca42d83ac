"""`restore train` as a library: data sampling, a few CPU steps, exact resume, budget stop, export + load."""

from __future__ import annotations

import os
import socket
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from restore_cli.degrade import bicubic_downscale, parse_degradation
from restore_cli.errors import UsageError
from restore_cli.train import TrainConfig, evaluate, export_run, load_exported, train
from restore_cli.train.data import (
    PairedPatches,
    StepBatchSampler,
    SyntheticPairs,
    ValImage,
    _EpochOrder,
    list_images,
    pair_folders,
    synthetic_val_set,
)
from restore_cli.train.loop import CosineWithWarmup, DistInfo, checkpoint_path, metric_convention, resolve_arch


def _chunked_scan_has_autograd() -> bool:
    from restore_cli.ops.scan.torch_chunked import selective_scan_chunked

    u = torch.rand(1, 2, 5, requires_grad=True)
    try:
        selective_scan_chunked(u, torch.rand(1, 2, 5), -torch.rand(2, 3), torch.rand(1, 3, 5), torch.rand(1, 3, 5))
    except RuntimeError:
        return False
    return True


def use_differentiable_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Train on the reference scan while the CPU fast path is inference-only (it uses in-place ops)."""
    if not _chunked_scan_has_autograd():
        from restore_cli.ops.scan import reference, torch_chunked

        monkeypatch.setattr(torch_chunked, "selective_scan_chunked", reference.selective_scan_reference)


@pytest.fixture(autouse=True)
def _scan(monkeypatch):
    use_differentiable_scan(monkeypatch)
    torch.set_num_threads(1)  # bit-exact comparisons between runs; also faster for tiny tensors


def _cfg(photos, tmp_path, **kw) -> TrainConfig:
    base = dict(task="sr", scale=2, arch="tiny", data=str(photos), patch=16, batch_size=2, steps=4, warmup_steps=1,
                val_every=1000, ckpt_every=1000, log_every=1, out_dir=str(tmp_path / "run"), export=False,
                device="cpu", workers=0)
    base.update(kw)
    return TrainConfig(**base)


# ------------------------------------------------------------------------------------------------ data


def test_synthetic_samples_are_a_pure_function_of_the_index(photos):
    degr = [parse_degradation("bicubic"), parse_degradation("noise:5")]
    paths = list_images(photos / "train")
    a = SyntheticPairs(paths, patch=16, scale=2, channels=3, degradations=degr, seed=3)
    b = SyntheticPairs(paths, patch=16, scale=2, channels=3, degradations=degr, seed=3)
    lq, gt = a.sample(7)
    assert lq.shape == (8, 8, 3) and gt.shape == (16, 16, 3)
    np.testing.assert_array_equal(lq, b.sample(7)[0])
    np.testing.assert_array_equal(gt, b.sample(7)[1])
    assert not np.array_equal(a.sample(8)[1], gt)
    x, y = a[0]
    assert x.shape == (3, 8, 8) and y.shape == (3, 16, 16) and x.dtype == torch.float32


def _gradient_photo(folder, width: int, height: int):
    """An image whose value is its column index: a patch's column range tells how much it was shrunk."""
    folder.mkdir(parents=True, exist_ok=True)
    ramp = np.broadcast_to(np.arange(width, dtype=np.uint8)[None, :, None], (height, width, 3))
    Image.fromarray(np.ascontiguousarray(ramp)).save(folder / "ramp.png")
    return list_images(folder)


def test_rescale_cuts_larger_regions_and_shrinks_them_to_the_patch(tmp_path):
    paths = _gradient_photo(tmp_path / "ramp", 200, 120)
    plain = SyntheticPairs(paths, patch=16, scale=1, channels=3, degradations=[], augment=False)
    zoomed = SyntheticPairs(paths, patch=16, scale=1, channels=3, degradations=[], augment=False, rescale=0.25)
    spans = []
    for i in range(40):
        gt = plain.sample(i)[1]
        assert gt.shape == (16, 16, 3) and round(float(gt[0, -1, 0] - gt[0, 0, 0]) * 255) == 15  # a plain crop
        z = zoomed.sample(i)[1]
        assert z.shape == (16, 16, 3) and z.dtype == np.float32
        spans.append(float(z[0, -1, 0] - z[0, 0, 0]) * 255)  # 15 x the zoom-out of this sample
    assert min(spans) >= 15 - 1 and max(spans) <= 4 * 16  # factors within [0.25, 1]
    assert np.median(spans) > 20 and max(spans) > 40  # log-uniform over [0.25, 1]: median zoom-out 2x
    np.testing.assert_array_equal(zoomed.sample(3)[1], zoomed.sample(3)[1])  # still a function of the index


def test_rescale_on_a_small_photo_takes_what_is_there(tmp_path):
    paths = _gradient_photo(tmp_path / "small", 20, 18)
    ds = SyntheticPairs(paths, patch=16, scale=2, channels=3, degradations=[parse_degradation("bicubic")],
                        rescale=0.1)
    for i in range(10):
        lq, gt = ds.sample(i)
        assert gt.shape == (16, 16, 3) and lq.shape == (8, 8, 3)


def test_rescale_is_checked_and_refused_on_paired_data(tmp_path, photos):
    with pytest.raises(UsageError, match="--rescale"):
        TrainConfig(data=str(photos), task="deblur", rescale=1.5).resolved()
    with pytest.raises(UsageError, match="--rescale"):
        SyntheticPairs(list_images(photos / "train"), patch=16, scale=1, channels=3, degradations=[], rescale=0.0)
    (tmp_path / "pairs" / "lq").mkdir(parents=True)
    (tmp_path / "pairs" / "gt").mkdir()
    img = np.zeros((16, 16, 3), np.uint8)
    Image.fromarray(img).save(tmp_path / "pairs" / "lq" / "a.png")
    Image.fromarray(img).save(tmp_path / "pairs" / "gt" / "a.png")
    cfg = _cfg(tmp_path / "pairs", tmp_path, task="deblur", scale=1, rescale=0.5)
    with pytest.raises(UsageError, match="paired"):
        train(cfg)


def test_epoch_order_visits_every_image_once_per_epoch():
    order = _EpochOrder(5, seed=1)
    for epoch in range(3):
        assert sorted(order(epoch * 5 + i) for i in range(5)) == list(range(5))


def test_step_sampler_shards_ranks_and_resumes():
    r0 = list(StepBatchSampler(2, 0, 3, rank=0, world=2))
    r1 = list(StepBatchSampler(2, 0, 3, rank=1, world=2))
    flat0, flat1 = [i for b in r0 for i in b], [i for b in r1 for i in b]
    assert not set(flat0) & set(flat1) and sorted(flat0 + flat1) == list(range(12))
    assert list(StepBatchSampler(2, 1, 3, rank=0, world=2)) == r0[1:]


def test_gray_channel_samples(photos):
    ds = SyntheticPairs(list_images(photos / "train"), patch=16, scale=1, channels=1,
                        degradations=[parse_degradation("jpeg:10-50")])
    lq, gt = ds.sample(0)
    assert lq.shape == gt.shape == (16, 16, 1)


def test_paired_folders_match_by_stem_and_stay_aligned(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "lq").mkdir()
    (tmp_path / "gt").mkdir()
    for name in ("0001", "0002"):
        lq = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
        Image.fromarray(lq).save(tmp_path / "lq" / f"{name}x2.png")
        Image.fromarray(np.kron(lq, np.ones((2, 2, 1), np.uint8))).save(tmp_path / "gt" / f"{name}.png")
    pairs = pair_folders(tmp_path / "lq", tmp_path / "gt", scale=2)
    assert [(a.name, b.name) for a, b in pairs] == [("0001x2.png", "0001.png"), ("0002x2.png", "0002.png")]
    ds = PairedPatches(pairs, patch=8, scale=2, channels=3)
    for i in range(6):
        lq, gt = ds.sample(i)
        np.testing.assert_array_equal(np.kron(lq, np.ones((2, 2, 1))), gt)
    (tmp_path / "lq" / "0003x2.png").write_bytes((tmp_path / "lq" / "0001x2.png").read_bytes())
    with pytest.raises(UsageError, match="no file of the same name"):
        pair_folders(tmp_path / "lq", tmp_path / "gt", scale=2)


def test_validation_set_is_deterministic_per_image(photos):
    degr = [parse_degradation("noise:25")]
    a = synthetic_val_set(list_images(photos / "val"), scale=1, channels=3, degradations=degr, seed=0)
    b = synthetic_val_set(list_images(photos / "val"), scale=1, channels=3, degradations=degr, seed=0)
    np.testing.assert_array_equal(a[0].lq, b[0].lq)
    bicubic = [parse_degradation("bicubic")]
    sr = synthetic_val_set(list_images(photos / "val"), scale=3, channels=3, degradations=bicubic)
    assert sr[0].gt.shape == (30, 30, 3) and sr[0].lq.shape == (10, 10, 3)
    np.testing.assert_allclose(sr[0].lq, bicubic_downscale(sr[0].gt, 3))


# ------------------------------------------------------------------------------------------------ helpers


def test_schedule_config_and_env_helpers():
    f = CosineWithWarmup(warmup=2, total=10, min_ratio=0.1)
    assert f(0) == 0.5 and f(1) == 1.0 and abs(f(10) - 0.1) < 1e-12 and 0.1 < f(6) < 1.0
    assert DistInfo.from_env({}) == DistInfo()
    assert DistInfo.from_env({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"}) == DistInfo(2, 0, 4)
    assert metric_convention("sr", 4, 3)[:2] == (4, True)
    assert metric_convention("denoise", 1, 3)[:2] == (0, False)
    cls, kw = resolve_arch("mambair-light", {"depths": [2]}, task="denoise", scale=1, channels=1)
    assert cls == "MambaIR" and kw["depths"] == [2] and kw["in_chans"] == 1 and kw["upsampler"] == ""
    cfg = TrainConfig(task="jpeg", data="x").resolved()
    assert cfg.channels == 1 and cfg.degradations == ("jpeg:10-50",)
    assert TrainConfig(task="sr", scale=4, data="x", patch=64, degradations=("noise:5",)).resolved().degradations == (
        "bicubic", "noise:5")
    with pytest.raises(UsageError):
        TrainConfig(task="sr", scale=1, data="x").resolved()
    with pytest.raises(UsageError):
        TrainConfig(task="sr", scale=3, data="x", patch=64).resolved()
    with pytest.raises(UsageError):
        TrainConfig(task="denoise").resolved()


def test_evaluate_identity_matches_the_baseline():
    rng = np.random.default_rng(0)
    gt = rng.random((24, 24, 3)).astype(np.float32)
    lq = np.clip(gt + rng.normal(0, 0.05, gt.shape), 0, 1).astype(np.float32)
    res = evaluate(torch.nn.Identity(), [ValImage("x", lq, gt)], task="denoise", scale=1, channels=3,
                   device=torch.device("cpu"))
    assert res.images == 1 and abs(res.psnr - res.baseline_psnr) < 1e-9 and 20 < res.psnr < 30


# ------------------------------------------------------------------------------------------------ training


def test_a_few_steps_validate_export_and_load(photos, tmp_path):
    cfg = _cfg(photos, tmp_path, steps=3, export=True, export_id="restore-test-x2", val_every=2)
    logs: list[str] = []
    progress = []
    result = train(cfg, on_progress=progress.append, on_log=logs.append)
    assert result.completed and result.step == 3 and result.reason == "done"
    assert [p.step for p in progress] == [1, 2, 3] and all(np.isfinite(p.loss) for p in progress)
    assert result.validation is not None and result.validation.images == 1
    assert np.isfinite(result.validation.psnr) and result.validation.convention.startswith("PSNR/SSIM on Y, 2 px")
    assert any("PSNR" in m for m in logs)
    weights, card_path = result.export
    assert weights.name == "restore-test-x2.safetensors" and card_path.is_file()

    module, card = load_exported(card_path)
    assert card["task"] == "sr" and card["scale"] == 2 and card["bundled"] == weights.name
    assert card["metrics"][0]["psnr"] == pytest.approx(result.validation.psnr, abs=1e-3)
    assert card["training"]["steps"] == 3 and card["training"]["degradations"] == ["bicubic"]
    x = torch.rand(1, 3, 10, 12)
    with torch.no_grad():
        y = module(x)
    assert y.shape == (1, 3, 20, 24) and torch.isfinite(y).all()
    # fp16 storage of the EMA weights: the loaded model matches the checkpoint's EMA closely
    state = torch.load(checkpoint_path(cfg.out_dir), weights_only=True)
    for k, v in module.state_dict().items():
        torch.testing.assert_close(v, state["ema"][k].float(), atol=2e-3, rtol=2e-3)

    import tomllib

    from restore_cli import cards

    parsed = cards.parse_card(tomllib.loads(card_path.read_text()), path=card_path, origin="file")
    assert parsed.training["steps"] == 3 and parsed.variant == "bundled"
    assert parsed.bundled == weights.name and parsed.arch_class == "MambaIR" and parsed.scale == 2


def test_init_fine_tunes_from_a_relatives_weights(photos, tmp_path):
    """--init: an x2 run starts from an exported x4 model's body; its new SR head keeps the random init."""
    x4 = train(_cfg(photos, tmp_path / "x4", scale=4, patch=16, steps=2, export=True, export_id="restore-t-x4"))
    weights, card_path = x4.export
    exported = load_exported(card_path)[0].state_dict()
    for spec in (weights, card_path):  # a weights file, or the card beside its weights
        logs: list[str] = []
        cfg = _cfg(photos, tmp_path / f"x2-{spec.suffix[1:]}", steps=1, init=str(spec))
        from restore_cli.train.loop import _Session

        session = _Session(cfg.resolved(), DistInfo(), torch.device("cpu"), None, logs.append)
        session._build()
        line = next(m for m in logs if m.startswith("initialised"))
        assert "keep their random init (upsample" in line
        started = session.model.state_dict()
        body = [k for k in started if not k.startswith("upsample")]
        assert body and all(torch.equal(started[k], exported[k].float()) for k in body)
        assert not torch.equal(started["upsample.0.weight"][:4].flatten(), exported["upsample.0.weight"][:4].flatten())
    assert train(_cfg(photos, tmp_path / "x2-run", steps=1, init=str(weights))).completed
    other = tmp_path / "other.pt"
    torch.save({"params": {"conv.weight": torch.zeros(3, 3)}}, other)
    with pytest.raises(UsageError, match="none of its 1 tensors fits"):
        train(_cfg(photos, tmp_path / "bad", steps=1, init=str(other)))


def test_resume_is_exact(photos, tmp_path):
    straight = _cfg(photos, tmp_path / "a", steps=4)
    assert train(straight).completed
    split = _cfg(photos, tmp_path / "b", steps=4, stop_after=2)
    first = train(split)
    assert not first.completed and first.step == 2 and first.reason == "stop_after"
    second = train(split)
    assert second.completed and second.step == 4
    a = torch.load(checkpoint_path(straight.out_dir), weights_only=True)
    b = torch.load(checkpoint_path(split.out_dir), weights_only=True)
    for part in ("model", "ema"):
        for k in a[part]:
            torch.testing.assert_close(a[part][k], b[part][k], atol=0, rtol=0, msg=f"{part}.{k}")
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        torch.testing.assert_close(sa["exp_avg_sq"], sb["exp_avg_sq"], atol=0, rtol=0)
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == 4
    torch.testing.assert_close(a["rng"][0]["torch"], b["rng"][0]["torch"], atol=0, rtol=0)


def test_time_budget_stops_with_a_checkpoint_and_settings_must_match(photos, tmp_path):
    cfg = _cfg(photos, tmp_path, task="denoise", scale=1, patch=8, steps=50, max_minutes=1e-9)
    result = train(cfg)
    assert not result.completed and result.reason == "time budget" and result.step == 1
    assert checkpoint_path(cfg.out_dir).is_file()
    with pytest.raises(UsageError, match="lr="):
        train(_cfg(photos, tmp_path, task="denoise", scale=1, patch=8, steps=50, lr=1e-3))
    with pytest.raises(UsageError, match="--resume"):
        train(_cfg(photos, tmp_path, task="denoise", scale=1, patch=8, steps=50, resume=False))


def test_stop_after_exports_on_stop_and_resumes_on_the_same_schedule(photos, tmp_path):
    cfg = _cfg(photos, tmp_path, steps=4, stop_after=2, export=True, export_on_stop=True, export_id="restore-t-x2")
    first = train(cfg)
    assert not first.completed and first.reason == "stop_after" and first.step == 2
    assert first.export is not None and first.export[0].is_file() and first.validation is not None
    assert load_exported(first.export[1])[1]["training"]["steps"] == 2
    second = train(cfg)
    assert second.step == 4 and second.completed
    assert torch.load(checkpoint_path(cfg.out_dir), weights_only=True)["scheduler"]["last_epoch"] == 4


def test_mambairv2_light_trains_with_gumbel_routing(photos, tmp_path):
    kw = {"embed_dim": 16, "depths": [1], "num_heads": [2], "window_size": 8, "inner_rank": 8, "num_tokens": 8,
          "d_state": 4}
    cfg = _cfg(photos, tmp_path, arch="mambairv2-light", arch_kwargs=kw, steps=2)
    result = train(cfg)
    assert result.completed
    out = export_run(checkpoint_path(cfg.out_dir), tmp_path / "exp", model_id="v2-tiny")
    module, card = load_exported(out[1])
    assert card["arch"]["class"] == "MambaIRv2Light"
    with torch.no_grad():
        assert module(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)


class TinyConv(torch.nn.Module):
    """A custom network, built through ``--arch package.module:Class``."""

    def __init__(self, in_chans: int = 3, upscale: int = 1, width: int = 8) -> None:
        super().__init__()
        self.scale = upscale
        self.body = torch.nn.Sequential(torch.nn.Conv2d(in_chans, width, 3, padding=1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(width, in_chans, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class InferenceOnly(TinyConv):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        torch.mul(x, self.body[0].bias.sum(), out=out)  # out= is not differentiable
        return out


def test_custom_network_by_import_path(photos, tmp_path):
    cfg = _cfg(photos, tmp_path, task="denoise", scale=1, arch=f"{__name__}:TinyConv", arch_kwargs={"width": 4},
               steps=2, export=True)
    result = train(cfg)
    module, card = load_exported(result.export[1])
    assert isinstance(module, TinyConv) and card["arch"]["kwargs"]["width"] == 4


def test_inference_only_kernels_are_a_clear_error(photos, tmp_path):
    from restore_cli.errors import BackendUnavailableError

    cfg = _cfg(photos, tmp_path, task="denoise", scale=1, arch=f"{__name__}:InferenceOnly", steps=2)
    with pytest.raises(BackendUnavailableError, match="differentiable"):
        train(cfg)


# ------------------------------------------------------------------------------------------------ DDP


def _ddp_worker(rank: int, world: int, port: int, cfg_dict: dict, queue) -> None:
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    from restore_cli.ops.scan import reference, torch_chunked

    torch_chunked.selective_scan_chunked = reference.selective_scan_reference
    torch.set_num_threads(1)
    result = train(TrainConfig.from_dict(cfg_dict))
    queue.put((rank, result.completed, result.step, str(result.checkpoint)))


@pytest.mark.slow
def test_ddp_two_cpu_processes(photos, tmp_path):
    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _cfg(photos, tmp_path, steps=2, ckpt_every=1)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_ddp_worker, args=(r, 2, port, cfg.to_dict(), queue)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    results = sorted(queue.get(timeout=5) for _ in range(2))
    assert all(p.exitcode == 0 for p in procs)
    assert results[0][1:3] == (True, 2) and results[1][1:3] == (True, 2)
    assert results[1][3] == "None"  # only rank 0 writes
    state = torch.load(checkpoint_path(cfg.out_dir), weights_only=True)
    assert state["world"] == 2 and len(state["rng"]) == 2


def test_frequency_loss_weighs_the_spectrum():
    from restore_cli.train.loop import FFT_LOSS_WEIGHT, frequency_l1, loss_function

    gt = torch.rand(2, 3, 8, 10)
    assert frequency_l1(gt, gt) == 0
    # a constant offset lives only in the DC term: |c * H * W| once per image and channel, out of
    # (H x (W/2 + 1)) complex bins of two parts each
    c = 0.25
    expected = c * 8 * 10 / (8 * 6 * 2)
    assert frequency_l1(gt + c, gt).item() == pytest.approx(expected, rel=1e-5)
    out = gt + 0.01 * torch.randn_like(gt)
    combined = loss_function("l1+fft")(out, gt)
    assert combined.item() == pytest.approx(
        (out - gt).abs().mean().item() + FFT_LOSS_WEIGHT * frequency_l1(out, gt).item(), rel=1e-6
    )
    with pytest.raises(UsageError, match="l1\\+fft"):
        TrainConfig(task="deblur", data="x", loss="l2").resolved()


def test_compiled_training_matches_eager(photos, tmp_path, monkeypatch):
    """--compile changes how the step runs, not what it computes.

    Traced by TorchDynamo as on a GPU but run by the ``eager`` backend: Inductor's C++ code generation
    takes minutes on a CI core (``test_compiled_training_on_cuda`` runs Inductor on the GPU).
    """
    real_compile = torch.compile
    calls = []

    def eager_compile(module, **kw):
        calls.append(module)
        return real_compile(module, backend="eager", **kw)

    monkeypatch.setattr(torch, "compile", eager_compile)
    eager = _cfg(photos, tmp_path / "eager", task="deblur", scale=1, arch="LAformer", patch=16, steps=2,
                 arch_kwargs={"dim": 8, "num_blocks": [1, 1, 1, 1], "num_dec_blocks": [1, 1, 1],
                              "num_refinement_blocks": 1, "head_dim": 8},
                 loss="l1+fft")
    compiled = replace(eager, out_dir=str(tmp_path / "compiled"), compile=True)
    assert train(eager).completed and not calls
    assert train(compiled).completed and len(calls) == 1
    a = torch.load(checkpoint_path(eager.out_dir), weights_only=True)["model"]
    b = torch.load(checkpoint_path(compiled.out_dir), weights_only=True)["model"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-5, rtol=1e-4, msg=k)


@pytest.mark.parametrize("arch", ["LAformer", "ACL"])
def test_init_grows_a_deeper_model_that_starts_as_the_shallower_one(tmp_path, arch):
    """--init into a model with more blocks: the new blocks start as the identity (residual-branch
    outputs zeroed), so the grown model's output equals the original's; the rest still trains."""
    from safetensors.torch import save_file

    from restore_cli.archs import build
    from restore_cli.train.loop import initialise_from

    small = {"dim": 16, "num_blocks": [1, 1, 1, 1], "num_dec_blocks": [1, 1, 1], "num_refinement_blocks": 1,
             "head_dim": 8}
    grown = dict(small, num_blocks=[1, 1, 2, 3], num_refinement_blocks=2)
    torch.manual_seed(0)
    base = build(arch, **small).eval()
    with torch.no_grad():  # trained-looking weights: no residual branch of the base is zero
        for p in base.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_file({k: v.contiguous() for k, v in base.state_dict().items()}, str(tmp_path / "base.safetensors"))
    big = build(arch, **grown).eval()
    line = initialise_from(big, str(tmp_path / "base.safetensors"))
    assert "residual-branch outputs of new blocks zeroed" in line
    x = torch.rand(1, 3, 24, 32)
    with torch.no_grad():
        torch.testing.assert_close(big(x), base(x), rtol=1e-5, atol=1e-6)
    # the new blocks' other layers keep their random init, so the zeroed outputs get gradients
    big.train()
    big(x).square().mean().backward()
    name = "latent.blocks.2." + big.RESIDUAL_BRANCH_OUTPUTS[0] + ".weight"
    assert big.get_parameter(name).grad.abs().sum() > 0


def test_keep_best_exports_the_best_validation_not_the_last(photos, tmp_path, monkeypatch):
    import json

    from restore_cli.train import loop

    real_evaluate = loop.evaluate

    def worsening(*args, **kwargs):  # each validation scores 1 dB below the one before
        result = real_evaluate(*args, **kwargs)
        return replace(result, psnr=100.0 - result.step)

    monkeypatch.setattr(loop, "evaluate", worsening)
    cfg = _cfg(photos, tmp_path, steps=4, val_every=1, export=True, export_id="restore-t-x2", keep_best=True)
    result = train(cfg)
    history = [json.loads(line) for line in (tmp_path / "run" / "val.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [1, 2, 3, 4]
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best["step"] == 1
    # it records the training time up to its step (it recorded the time before the run started: 0)
    assert 0 < best["elapsed_s"] <= result.elapsed_s
    card = load_exported(result.export[1])[1]
    assert card["training"]["steps"] == 1 and card["metrics"][0]["psnr"] == pytest.approx(99.0)
    # without --keep-best the last step is exported and no best.pt is written
    plain = train(replace(cfg, keep_best=False, out_dir=str(tmp_path / "plain")))
    assert not (tmp_path / "plain" / "best.pt").exists()
    assert load_exported(plain.export[1])[1]["training"]["steps"] == 4

"""The engine: whole image vs blended tiles, batching, OOM retry, NaN guard, official partition."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from restore_cli.engine.model import parse_devices, wrap_module
from restore_cli.engine.run import restore_tensor
from restore_cli.errors import UsageError


class LocalNet(nn.Module):
    """A 2x upscaler with a 5x5 receptive field: tiled and whole results must agree exactly inside."""

    scale = 2

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 12, 5, padding=2)

    def forward(self, x):
        return torch.nn.functional.pixel_shuffle(self.conv(x), 2)


def smooth_image(h: int, w: int) -> torch.Tensor:
    from skimage import data

    img = data.astronaut()[:h, :w].astype(np.float32) / 255
    return torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()


def test_tiles_blend_to_the_whole_image_for_a_local_model():
    model = wrap_module(LocalNet(), arch="test", device=torch.device("cpu"))
    x = smooth_image(70, 90)
    whole = restore_tensor(model, x, tile=0)
    tiled = restore_tensor(model, x, tile=32, overlap=8, batch_size=3)
    assert whole.shape == tiled.shape == (1, 3, 140, 180)
    # Inside the overlaps every tile sees at least 2 px of context beyond its ramp: identical to 1e-5.
    assert (whole - tiled).abs().max() < 1e-5


def test_tiled_mambair_agrees_closely_with_whole_image():
    from restore_cli.archs import from_official

    torch.manual_seed(0)
    net = from_official("MambaIR", dict(upscale=2, in_chans=3, embed_dim=30, depths=[1], d_state=4,
                                        mlp_ratio=1.0, upsampler="pixelshuffledirect"))
    model = wrap_module(net, arch="MambaIR", device=torch.device("cpu"))
    x = smooth_image(48, 64)
    whole = restore_tensor(model, x, tile=0)
    tiled = restore_tensor(model, x, tile=32, overlap=16)
    # The scan is global, so tiles differ a little; blending keeps it small and seam-free.
    assert (whole - tiled).abs().mean() < 0.01
    assert (whole - tiled).abs().max() < 0.1


def test_official_partition_equals_whole_for_a_pointwise_model():
    model = wrap_module(nn.Conv2d(3, 3, 1), arch="test", device=torch.device("cpu"))
    x = torch.rand(1, 3, 230, 410)
    assert torch.allclose(restore_tensor(model, x, official_tiling=True), restore_tensor(model, x, tile=0), atol=1e-6)


class OOMAbove(nn.Module):
    """Raises CUDA-style out-of-memory for inputs larger than ``limit`` pixels per batch."""

    scale = 1

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.sizes: list[tuple[int, ...]] = []

    def forward(self, x):
        self.sizes.append(tuple(x.shape))
        if x.shape[0] * x.shape[2] * x.shape[3] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return x * 0.5


def test_out_of_memory_retries_with_smaller_tiles():
    net = OOMAbove(limit=40 * 40)
    model = wrap_module(net, arch="test", device=torch.device("cpu"))
    x = torch.rand(1, 3, 100, 100)
    out = restore_tensor(model, x, tile=0)
    assert torch.allclose(out, x * 0.5, atol=1e-6)
    assert max(s[2] for s in net.sizes[-3:]) <= 40


def test_out_of_memory_at_the_smallest_tile_is_raised():
    model = wrap_module(OOMAbove(limit=1), arch="test", device=torch.device("cpu"))
    with pytest.raises(torch.OutOfMemoryError):
        restore_tensor(model, torch.rand(1, 3, 64, 64), tile=0)


def test_nan_output_is_an_error_not_a_black_image():
    class NaNNet(nn.Module):
        scale = 1

        def forward(self, x):
            return x * float("nan")

    model = wrap_module(NaNNet(), arch="test", device=torch.device("cpu"))
    with pytest.raises(FloatingPointError, match="fp32"):
        restore_tensor(model, torch.rand(1, 3, 8, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_outputs_come_back_through_pinned_memory_and_nan_is_still_caught(monkeypatch):
    from restore_cli.engine import run

    net = LocalNet()
    x = smooth_image(24, 40)
    expected = net(x).detach()
    model = wrap_module(net, arch="test", device=torch.device("cuda"))
    for _ in range(3):  # eager, captured, replayed
        out = run.forward(model, x)
        assert out.device.type == "cpu" and out.is_pinned()
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    monkeypatch.setattr(run, "PINNED_OUTPUT_LIMIT_BYTES", 0)
    out = run.forward(model, x)
    assert not out.is_pinned()
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)

    class NaNNet(nn.Module):
        scale = 1

        def forward(self, x):
            return x * float("nan")

    monkeypatch.setattr(run, "PINNED_OUTPUT_LIMIT_BYTES", 2**30)
    with pytest.raises(FloatingPointError, match="fp32"):
        run.forward(wrap_module(NaNNet(), arch="test", device=torch.device("cuda")), x)


def test_self_ensemble_of_an_equivariant_model_is_the_model():
    model = wrap_module(nn.Conv2d(3, 3, 1), arch="test", device=torch.device("cpu"))
    x = torch.rand(1, 3, 9, 13)
    assert torch.allclose(restore_tensor(model, x, self_ensemble=True), restore_tensor(model, x), atol=1e-6)


def test_progress_reports_every_tile():
    model = wrap_module(LocalNet(), arch="test", device=torch.device("cpu"))
    calls = []
    restore_tensor(model, smooth_image(64, 64), tile=24, overlap=4, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1][0] == calls[-1][1] > 1


def test_parse_devices():
    assert parse_devices("cpu") == [torch.device("cpu")]
    assert parse_devices("auto")[0].type in ("cpu", "cuda")
    with pytest.raises(UsageError):
        parse_devices("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="CUDA"):
            parse_devices("cuda:0,cuda:1")


def test_fp16_on_cpu_is_refused():
    with pytest.raises(UsageError, match="fp16"):
        wrap_module(nn.Conv2d(3, 3, 1), arch="t", device=torch.device("cpu"), precision="fp16")


def test_automatic_tiles_run_one_at_a_time_given_tiles_four_on_cuda(monkeypatch):
    """The automatic tile side is what fits the memory budget alone; batching four of it would not fit."""
    from dataclasses import replace

    from restore_cli.engine import run

    calls = []
    monkeypatch.setattr(run, "_tiled", lambda model, x, tile, overlap, **kw: calls.append((tile, kw["batch_size"])))
    monkeypatch.setattr(run, "auto_tile", lambda model, h, w: 64)
    cpu = wrap_module(LocalNet(), arch="test", device=torch.device("cpu"))
    model = replace(cpu, device=torch.device("cuda"))  # only the defaults run: _tiled is replaced
    x = smooth_image(100, 150)
    restore_tensor(model, x)
    restore_tensor(model, x, tile=48)
    restore_tensor(model, x, batch_size=3)
    assert calls == [(64, 1), (48, 4), (64, 3)]


def test_a_model_tile_batch_limit_caps_the_tiles_per_pass(monkeypatch):
    """A network may cap the tiles per compiled pass (``compiled_tile_batch``; MambaIRv2 did until its batch
    drift was gone): wrap_module records it when compiling and restore_tensor keeps every pass to it,
    asked-for batches included."""
    from dataclasses import replace

    from restore_cli.archs.mambair_v2 import MambaIRv2
    from restore_cli.engine import compile as engine_compile
    from restore_cli.engine import run

    assert MambaIRv2.compiled_tile_batch is None  # lifted in the twentieth session (8% faster at 4K)
    calls = []
    monkeypatch.setattr(run, "_tiled", lambda model, x, tile, overlap, **kw: calls.append(kw["batch_size"]))
    monkeypatch.setattr(engine_compile, "compile_blocks", lambda module, **kw: 0)  # no compiler in this test

    class Limited(LocalNet):
        compiled_tile_batch = 1

    compiled = wrap_module(Limited(), arch="test", device=torch.device("cpu"), compile=True)
    assert compiled.extra["tile_batch_limit"] == 1
    assert "tile_batch_limit" not in wrap_module(Limited(), arch="test", device=torch.device("cpu")).extra
    model = replace(compiled, device=torch.device("cuda"))  # only the defaults run: _tiled is replaced
    x = smooth_image(100, 150)
    restore_tensor(model, x, tile=48)
    restore_tensor(model, x, tile=48, batch_size=3)
    restore_tensor(replace(model, extra={}), x, tile=48)
    assert calls == [1, 1, 4]


def test_tile_budget_follows_each_family_measured_memory():
    """Sides from the per-family estimates: a linear-attention model gets far larger tiles than MambaIR,
    an unknown family the conservative default, half precision and 1x models larger tiles than x4."""
    from restore_cli.engine.run import bytes_per_input_pixel, tile_side_for_budget

    gib = 2**30
    # MambaIR classic x4 measured 24 kB per input pixel in float32 (H100): the estimate covers it
    assert 24_000 < bytes_per_input_pixel("MambaIR", 4, "fp32") < 2 * 24_000
    # LAformer measured 3.4 kB at 2048 px: a 10 GiB budget runs a 1400 px square whole (the old estimate: 470)
    assert tile_side_for_budget(10 * gib, "LAformer", 1, "fp32") > 1400
    sides = {arch: tile_side_for_budget(10 * gib, arch, 4, "fp32") for arch in ("MambaIR", "LAformer", "Custom")}
    assert sides["LAformer"] > sides["MambaIR"] > sides["Custom"] > 0
    assert tile_side_for_budget(10 * gib, "MambaIR", 4, "bf16") > sides["MambaIR"]
    assert tile_side_for_budget(10 * gib, "MambaIR", 1, "fp32") > sides["MambaIR"]
    assert tile_side_for_budget(0, "MambaIR", 4, "fp32") == 0


def test_cuda_tile_budget_follows_the_current_kernels_measurements():
    """On CUDA the MambaIR families' figures are the current kernels' (4K x4 classic measured 2.9 GiB in
    bf16 on an H100, 0.5 GB of it its tail before the tail ran in bands: 5.3): a 4K x4 input (540x960)
    runs whole in bf16 on an 8 GiB card's budget, where the older figures tiled it; colour DN at 720p
    still needs more than that budget; MambaIRv2 stays heavier than MambaIR; other families keep the old
    figures on CUDA too."""
    from restore_cli.engine.run import bytes_per_input_pixel, tile_side_for_budget

    budget = 0.6 * 8 * 2**30
    side = tile_side_for_budget(budget, "MambaIR", 4, "bf16", cuda=True)
    assert side * side >= 540 * 960 > tile_side_for_budget(budget, "MambaIR", 4, "bf16") ** 2
    assert 4_300 < bytes_per_input_pixel("MambaIR", 4, "bf16", cuda=True) / 1.5 < 6_000
    assert side**2 < 720 * 1280  # colour DN whole measured 4.0 GiB: not inside 4.8 GB less the margins
    assert tile_side_for_budget(budget, "MambaIRv2", 4, "bf16", cuda=True) < side
    assert tile_side_for_budget(budget, "MambaIR", 4, "fp32", cuda=True) < side
    assert bytes_per_input_pixel("LAformer", 1, "fp32", cuda=True) == bytes_per_input_pixel("LAformer", 1, "fp32")
    assert tile_side_for_budget(2**29, "MambaIR", 4, "bf16", cuda=True) == 0  # less than the fixed part


def test_cpu_automatic_tile_follows_the_available_ram(monkeypatch):
    """On the CPU: tiles of 512 where half the available RAM holds one (the whole image when it is no
    larger), smaller where RAM is short, never below 256, and 256 where RAM is unknown."""
    from dataclasses import replace

    from restore_cli.engine import run

    laformer = replace(wrap_module(LocalNet(), arch="test", device=torch.device("cpu")), arch="LAformer", scale=1)
    mambairv2_x4 = replace(laformer, arch="MambaIRv2", scale=4)
    monkeypatch.setattr(run, "available_host_memory", lambda: 16 * 2**30)
    assert run.auto_tile(laformer, 384, 512) == 0  # no larger than one 512 px tile: whole
    assert run.auto_tile(laformer, 768, 1024) == 512
    monkeypatch.setattr(run, "available_host_memory", lambda: 4 * 2**30)
    assert 256 < run.auto_tile(mambairv2_x4, 768, 1024) < 512  # ~30 kB a pixel: 2 GiB holds ~260k px
    monkeypatch.setattr(run, "available_host_memory", lambda: 100 * 2**20)
    assert run.auto_tile(laformer, 768, 1024) == 256
    monkeypatch.setattr(run, "available_host_memory", lambda: None)
    assert run.auto_tile(laformer, 768, 1024) == 256


def test_available_host_memory_is_plausible():
    from restore_cli.engine.run import available_host_memory

    available = available_host_memory()
    assert available is None or 2**20 < available < 2**50

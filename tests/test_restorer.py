"""The Python API: Restorer over arrays and files, channel handling, weights detection."""

from __future__ import annotations

import numpy as np
import torch
from safetensors.torch import save_file

from restore_cli.archs import from_official
from restore_cli.restorer import Restorer, rgb_to_ycc, ycc_to_rgb

TINY = dict(upscale=2, in_chans=3, embed_dim=30, depths=[1], d_state=4, mlp_ratio=1.0, upsampler="pixelshuffledirect")


def tiny(**over):
    torch.manual_seed(0)
    return from_official("MambaIR", {**TINY, **over})


def test_restore_array_accepts_uint8_uint16_float_and_gray():
    r = Restorer.from_module(tiny(), arch="MambaIR", device="cpu")
    rgb8 = (np.random.default_rng(0).random((12, 10, 3)) * 255).astype(np.uint8)
    out8 = r.restore_array(rgb8)
    assert out8.shape == (24, 20, 3) and out8.dtype == np.float32 and out8.min() >= 0 and out8.max() <= 1
    out16 = r.restore_array(rgb8.astype(np.uint16) * 257)
    assert np.allclose(out8, out16, atol=1e-5)
    gray = r.restore_array(rgb8[:, :, 0])
    assert gray.shape == (24, 20, 1)


def test_gray_model_on_colour_keeps_chroma():
    r = Restorer.from_module(tiny(in_chans=1, upscale=1, upsampler=""), arch="MambaIR", device="cpu")
    rgb = np.random.default_rng(1).random((16, 16, 3)).astype(np.float32)
    out = r.restore_array(rgb)
    assert out.shape == rgb.shape
    # chroma of the output equals the chroma of the input wherever nothing was clipped
    inside = (out > 0.02).all(-1) & (out < 0.98).all(-1)
    assert np.allclose(rgb_to_ycc(out)[inside][:, 1:], rgb_to_ycc(rgb)[inside][:, 1:], atol=1e-4)


def test_ycc_round_trip():
    rgb = np.random.default_rng(2).random((5, 7, 3)).astype(np.float32)
    assert np.allclose(ycc_to_rgb(rgb_to_ycc(rgb)), rgb, atol=1e-5)


def test_from_weights_detects_the_architecture(tmp_path):
    net = tiny()
    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    r = Restorer.from_weights(path, device="cpu")
    assert r.model.arch == "MambaIR" and r.model.scale == 2
    x = np.random.default_rng(3).random((8, 8, 3)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x).permute(2, 0, 1)[None]).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    assert np.allclose(r.restore_array(x), expected, atol=1e-5)


def test_restore_file_round_trip(tmp_path):
    from PIL import Image

    Image.fromarray((np.random.default_rng(4).random((10, 12, 3)) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    r = Restorer.from_module(tiny(), arch="MambaIR", device="cpu")
    res = r.restore_file(tmp_path / "a.png", tmp_path / "b.png")
    assert res.status == "ok" and (res.width, res.height) == (24, 20)
    assert r.restore_file(tmp_path / "a.png", tmp_path / "b.png").status == "skipped"


def test_package_exports_restorer_lazily():
    import subprocess
    import sys

    code = ("import sys, restore_cli; assert 'torch' not in sys.modules; "
            "from restore_cli import Restorer; print(Restorer.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Restorer"


def test_outscale_resizes_after_the_model_and_shrinks_without_aliasing():
    from restore_cli.restorer import resize_to

    r = Restorer.from_module(tiny(), arch="MambaIR", device="cpu", outscale=3.5)  # an x2 model
    rgb = np.random.default_rng(0).random((12, 10, 3)).astype(np.float32)
    assert r.restore_array(rgb).shape == (42, 35, 3)
    assert r.restore_array(rgb[:, :, :1]).shape == (42, 35, 1)
    # A one-pixel checkerboard shrunk to a third: area averaging gives about its mean (4/9 or 5/9 a
    # pixel); Lanczos samples it into a pattern of pure black and white (0.5 away from the mean).
    checker = (np.indices((24, 24)).sum(0) % 2).astype(np.float32)[:, :, None]
    assert np.abs(resize_to(checker, 8, 8) - 0.5).max() < 0.1
    flat = np.full((8, 8, 3), 0.25, np.float32)  # enlarging (Lanczos) keeps a flat image flat
    assert np.allclose(resize_to(flat, 20, 20), 0.25, atol=1e-5)

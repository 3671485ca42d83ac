"""The upsampling tail over row bands (``layers.in_row_bands``): same image as in one call, less memory."""

from __future__ import annotations

import pytest
import torch

from restore_cli.archs.layers import UPSAMPLING_TAIL_HALO, RestorationNet, in_row_bands
from restore_cli.archs.mambair import MambaIR


def _head(upsampler: str, scale: int) -> RestorationNet:
    net = RestorationNet()
    net.init_head(in_chans=3, embed_dim=8, upscale=scale, upsampler=upsampler, img_range=1.0, num_feat=6,
                  allow_nearest_conv=True)
    return net.eval()


TAILS = [("pixelshuffle", 2), ("pixelshuffle", 3), ("pixelshuffle", 4), ("nearest+conv", 4)]


@pytest.mark.parametrize(("upsampler", "scale"), TAILS)
@pytest.mark.parametrize("band_rows", [1, 2, 5])
def test_bands_give_the_tail_of_one_call(upsampler, scale, band_rows):
    torch.manual_seed(0)
    net = _head(upsampler, scale)
    res = torch.randn(2, 8, 13, 11)
    with torch.no_grad():
        whole = net.upsampling_tail(res)
        banded = in_row_bands(net.upsampling_tail, res, scale=scale, halo=UPSAMPLING_TAIL_HALO,
                              max_out_pixels=band_rows * 2 * 11 * scale * scale)
    assert banded.shape == whole.shape
    torch.testing.assert_close(banded, whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("upsampler", "scale"), TAILS)
def test_a_smaller_halo_is_not_enough(upsampler, scale):
    """The halo is the tails' true reach: one row less changes the image (so the test above can fail)."""
    torch.manual_seed(0)
    net = _head(upsampler, scale)
    res = torch.randn(1, 8, 13, 11)
    with torch.no_grad():
        whole = net.upsampling_tail(res)
        short = in_row_bands(net.upsampling_tail, res, scale=scale, halo=UPSAMPLING_TAIL_HALO - 1,
                             max_out_pixels=4 * 11 * scale * scale)
    assert (short - whole).abs().max() > 1e-3


def test_one_call_when_the_image_fits():
    calls = []

    def tail(x):
        calls.append(x.shape[-2])
        return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)

    x = torch.randn(1, 2, 6, 5)
    in_row_bands(tail, x, scale=2, halo=3, max_out_pixels=6 * 5 * 4)
    assert calls == [6]
    calls.clear()
    out = in_row_bands(tail, x, scale=2, halo=3, max_out_pixels=2 * 5 * 4)  # bands of 2 rows
    assert calls == [5, 6, 5]  # rows 0-1 and 3 below; 2-3 and all 2 above, 2 below; 4-5 and 3 above
    torch.testing.assert_close(out, tail(x))


def test_model_output_does_not_depend_on_the_band_size():
    torch.manual_seed(0)
    net = MambaIR(embed_dim=30, depths=(1,), d_state=4, upscale=4, upsampler="pixelshuffle").eval()
    x = torch.rand(1, 3, 10, 9)
    with torch.no_grad():
        whole = net(x)
        net.tail_band_pixels = 3 * 9 * 16  # bands of 3 input rows
        banded = net(x)
    torch.testing.assert_close(banded, whole, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_bands_on_cuda_under_autocast_in_channels_last():
    """As the head runs on CUDA under bf16 autocast: channels-last features, TF32 float32 convs."""
    torch.manual_seed(0)
    net = MambaIR(embed_dim=30, depths=(1,), d_state=4, upscale=4, upsampler="pixelshuffle").cuda().eval()
    x = torch.rand(2, 3, 40, 52, device="cuda")
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        whole = net(x)
        net.tail_band_pixels = 2 * 7 * 52 * 16  # bands of 7 input rows
        banded = net(x)
    assert banded.shape == whole.shape == (2, 3, 160, 208)
    rel = ((banded - whole).norm() / whole.norm()).item()
    assert rel < 1e-4, rel


def test_training_runs_the_tail_in_one_call(monkeypatch):
    """With gradients on, the tail is one call whatever its size (autograd keeps every band's activations)."""
    from restore_cli.archs import layers

    torch.manual_seed(0)
    net = MambaIR(embed_dim=30, depths=(1,), d_state=4, upscale=4, upsampler="pixelshuffle")
    net.tail_band_pixels = 16
    calls = []
    monkeypatch.setattr(layers, "in_row_bands", lambda *a, **k: calls.append(1) or in_row_bands(*a, **k))
    net(torch.rand(1, 3, 8, 8)).mean().backward()
    assert calls == [] and net.conv_last.weight.grad is not None
    with torch.no_grad():
        net(torch.rand(1, 3, 8, 8))
    assert calls == [1]

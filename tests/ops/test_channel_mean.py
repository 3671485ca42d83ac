"""Per-image channel means (:mod:`restore_cli.ops.channel_mean`): the reference on the CPU, the Triton
kernel under Triton's interpreter and on a GPU."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from triton_interpreter import run_in_triton_interpreter

from restore_cli.ops.channel_mean import _rows_are_a_view, channel_mean, channel_mean_reference


def test_reference_is_the_mean_over_the_pixels() -> None:
    x = torch.randn(2, 5, 7, 12)
    want = x.permute(0, 3, 1, 2).flatten(2).mean(-1)
    assert torch.allclose(channel_mean(x), want, atol=1e-6)
    assert channel_mean(x.bfloat16()).dtype == torch.float32
    with pytest.raises(ValueError, match="unknown channel-mean backend"):
        channel_mean(x, backend="cuda")


def test_the_kernel_reads_only_layouts_whose_pixels_are_one_run_of_rows() -> None:
    image = torch.randn(2, 12, 5, 7).to(memory_format=torch.channels_last)
    assert _rows_are_a_view(image.permute(0, 2, 3, 1))  # a channels_last image viewed channel-last
    assert _rows_are_a_view(torch.randn(2, 35, 16)[..., :12])  # padded rows
    assert not _rows_are_a_view(torch.randn(2, 12, 5, 7).permute(0, 2, 3, 1))  # channel-first memory
    assert not _rows_are_a_view(torch.randn(2, 5, 9, 12)[:, :, :7])  # a crop: rows not one run


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")
def test_kernel_in_the_triton_interpreter() -> None:
    out = run_in_triton_interpreter("""
import torch
from restore_cli.ops.channel_mean import channel_mean_reference
from restore_cli.ops.channel_mean.triton import channel_mean_triton

gen = torch.Generator().manual_seed(0)
for b, length, c, width in [(1, 700, 30, 32), (2, 37, 184, 192), (3, 5, 7, 7)]:
    rows = torch.randn(b, length, width, generator=gen)[..., :c]
    got = channel_mean_triton(rows)
    assert got.shape == (b, c) and (got - channel_mean_reference(rows)).abs().max().item() < 1e-5, (b, length, c)
print("ok")
""")
    assert out.strip().endswith("ok")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_kernel_matches_the_reference_on_a_gpu(dtype: torch.dtype) -> None:
    pytest.importorskip("triton")
    conv_out = torch.randn(2, 192, 45, 80, device="cuda").to(dtype).to(memory_format=torch.channels_last)
    image = conv_out.permute(0, 2, 3, 1)[..., :184]  # MambaIR's CAB: padded channels, channel-last view
    with torch.no_grad():
        got = channel_mean(image)
    want = channel_mean_reference(image.double()).float()
    assert got.dtype == torch.float32 and (got - want).abs().max().item() < 1e-5
    strided = torch.randn(2, 184, 45, 80, device="cuda").to(dtype).permute(0, 2, 3, 1)  # left to PyTorch
    with torch.no_grad():
        assert torch.allclose(channel_mean(strided), channel_mean_reference(strided), atol=1e-5)

"""Where Triton is missing (PyTorch's Windows CUDA wheels), CUDA tensors take the PyTorch references and
``--compile`` on a GPU says why it cannot run, instead of failing on the first kernel's import."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import restore_cli.ops.class_order as class_order
import restore_cli.ops.depthwise_conv as depthwise_conv
import restore_cli.ops.launch as launch
import restore_cli.ops.layer_norm as layer_norm
import restore_cli.ops.window_attention as window_attention
from restore_cli.errors import UsageError


def test_no_kernel_is_chosen_for_a_gpu_tensor_without_triton(monkeypatch):
    gpu_tensor = SimpleNamespace(is_cuda=True)  # a CUDA tensor as far as the checks look before Triton's
    for module in (class_order, depthwise_conv, layer_norm, window_attention):
        monkeypatch.setattr(module, "triton_available", lambda: False)
    assert not depthwise_conv.use_triton(gpu_tensor)
    assert not layer_norm.use_triton(gpu_tensor, torch.ones(4))
    assert not window_attention.use_triton(gpu_tensor, num_heads=2, window_size=8)
    assert not class_order.use_triton(gpu_tensor, 64)


def test_compile_on_a_gpu_without_triton_is_a_usage_error(monkeypatch):
    from restore_cli.engine.model import wrap_module

    monkeypatch.setattr(launch, "triton_available", lambda: False)
    with pytest.raises(UsageError, match="needs Triton"):
        wrap_module(torch.nn.Conv2d(3, 3, 3), arch="custom", device=torch.device("cuda"), compile=True)


def test_compiled_code_asks_without_tracing_the_import():
    """Compiled blocks ask ``triton_available`` (through each ``use_triton``): it must be a constant to the
    compiler, neither a graph break (an ``import`` it cannot trace where Triton is missing) nor a warning."""
    import warnings

    def pick(x):
        return x + 1 if launch.triton_available() else x - 1

    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = torch.compile(pick, backend="eager", fullgraph=True)(torch.zeros(2))
    assert torch.equal(got, torch.full((2,), 1.0 if launch.triton_available() else -1.0))

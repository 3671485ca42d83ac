"""cuBLAS without a workspace for inference on CUDA (:func:`restore_cli.engine.model.use_inference_cublas_settings`):
set where the user has not chosen, before the first GEMM; on a GPU the narrow GEMMs then run without the
memset cuBLAS put before each."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from restore_cli.engine.model import INFERENCE_CUBLAS_ENV, use_inference_cublas_settings


def _unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Unset ``name`` for the test and have whatever the code sets removed afterwards (delenv of an
    absent variable records nothing to undo)."""
    monkeypatch.setenv(name, "placeholder")
    monkeypatch.delenv(name)


def test_sets_the_variables_the_user_left_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    _unset(monkeypatch, "CUBLASLT_WORKSPACE_SIZE")
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # the user's own (e.g. for determinism)
    applied = use_inference_cublas_settings()
    assert applied == {"CUBLASLT_WORKSPACE_SIZE": INFERENCE_CUBLAS_ENV["CUBLASLT_WORKSPACE_SIZE"]}
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert os.environ["CUBLASLT_WORKSPACE_SIZE"] == "0"
    assert use_inference_cublas_settings() == {}  # nothing left to set


def test_cpu_models_leave_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from restore_cli.engine.model import wrap_module

    for name in INFERENCE_CUBLAS_ENV:
        _unset(monkeypatch, name)
    wrap_module(torch.nn.Conv2d(3, 3, 3, padding=1), arch="test", device=torch.device("cpu"))
    assert not any(name in os.environ for name in INFERENCE_CUBLAS_ENV)


# A fresh process: the settings act only before the process's first GEMM on the device.
_MEMSETS_AFTER_WRAP = """
import torch
from restore_cli.engine.model import wrap_module
net = torch.nn.Sequential(torch.nn.Linear(48, 96), torch.nn.GELU(), torch.nn.Linear(96, 48))
model = wrap_module(net, arch="test", device=torch.device("cuda"), precision="bf16")
x = torch.randn(57600, 48, device="cuda")
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    model.module(x)  # warm-up
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        model.module(x)
        torch.cuda.synchronize()
names = [e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
print(sum("emset" in n for n in names), len(names))
"""


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gemms_after_wrapping_run_without_memsets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in INFERENCE_CUBLAS_ENV}
    done = subprocess.run([sys.executable, "-c", _MEMSETS_AFTER_WRAP], env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    memsets, kernels = map(int, done.stdout.split()[-2:])
    assert kernels >= 2 and memsets == 0, done.stdout

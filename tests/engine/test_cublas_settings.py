"""cuBLAS without a workspace for the light networks on CUDA
(:func:`restore_cli.engine.model.use_workspace_free_cublas`): set where the user has not chosen, for light
networks only; on a GPU their narrow GEMMs then run without the memset cuBLAS put before each, and a wide
network's keep the workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from restore_cli.archs import from_official
from restore_cli.engine.model import (
    WORKSPACE_FREE_CUBLAS_ENV,
    use_workspace_free_cublas,
    wants_workspace_free_cublas,
    wrap_module,
)

CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "parity" / "cases.json").read_text())


def _unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Unset ``name`` for the test and have whatever the code sets removed afterwards (delenv of an
    absent variable records nothing to undo)."""
    monkeypatch.setenv(name, "placeholder")
    monkeypatch.delenv(name)


def test_sets_the_variables_the_user_left_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    _unset(monkeypatch, "CUBLASLT_WORKSPACE_SIZE")
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # the user's own (e.g. for determinism)
    applied = use_workspace_free_cublas()
    assert applied == {"CUBLASLT_WORKSPACE_SIZE": WORKSPACE_FREE_CUBLAS_ENV["CUBLASLT_WORKSPACE_SIZE"]}
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert os.environ["CUBLASLT_WORKSPACE_SIZE"] == "0"
    assert use_workspace_free_cublas() == {}  # nothing left to set


@pytest.mark.parametrize(("official_class", "embed_dim", "light"),
                         [("MambaIR", 60, True), ("MambaIRv2Light", 48, True), ("MambaIR", 180, False),
                          ("MambaIRv2", 174, False)])
def test_only_light_networks_want_it(official_class: str, embed_dim: int, light: bool) -> None:
    kwargs = next(c["kwargs"] for c in CASES.values() if c["official_class"] == official_class)
    net = from_official(official_class, {**kwargs, "embed_dim": embed_dim})
    assert wants_workspace_free_cublas(net) is light
    assert not wants_workspace_free_cublas(torch.nn.Conv2d(3, 3, 3))  # no token width: keep the default


def test_cpu_models_leave_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in WORKSPACE_FREE_CUBLAS_ENV:
        _unset(monkeypatch, name)
    net = torch.nn.Conv2d(3, 3, 3, padding=1)
    net.embed_dim = 48
    wrap_module(net, arch="test", device=torch.device("cpu"))
    assert not any(name in os.environ for name in WORKSPACE_FREE_CUBLAS_ENV)


# A fresh process each: the settings act only before the process's first GEMM on the device.
_MEMSETS_IN_A_FORWARD = """
import torch
from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.model import wrap_module
dev = torch.device("cuda")
net = seeded_model("mambairv2-light-x4", dev)
configure_scan(net, backend="triton", fused_cross_scan=True)
model = wrap_module(net, arch="MambaIRv2", device=dev, precision="bf16", cuda_graphs=False)
x = photo_input(180, 320, dev)
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
def test_a_light_network_runs_its_gemms_with_fewer_launches() -> None:
    """MambaIRv2 light at 180x320 (the benchmark's 720p case): wrapped as the CLI wraps it, against the same
    with cuBLAS's default workspace given explicitly (PyTorch's on Hopper), which the engine then leaves."""
    env = {k: v for k, v in os.environ.items() if k not in WORKSPACE_FREE_CUBLAS_ENV}
    counts = {}
    for label, extra in (("library", {}), ("workspace", {"CUBLAS_WORKSPACE_CONFIG": ":4096:8",
                                                          "CUBLASLT_WORKSPACE_SIZE": "1024"})):
        done = subprocess.run([sys.executable, "-c", _MEMSETS_IN_A_FORWARD], env={**env, **extra},
                              capture_output=True, text=True, timeout=300, check=True)
        counts[label] = tuple(map(int, done.stdout.split()[-2:]))
    # (memsets, GPU events): with a workspace, cuBLAS put a memset before many of these GEMMs (240 in a
    # compiled 720p forward, perf21c); a cuBLAS that stops doing so makes this setting pointless
    assert counts["library"][0] < counts["workspace"][0], counts
    assert counts["library"][1] < counts["workspace"][1], counts

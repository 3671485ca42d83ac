"""Wall time and launches of compiled bf16 forwards under the cuBLAS settings given by the environment.

cuBLAS ran each of MambaIRv2 light's narrow GEMMs with a memset before it (160 of 300 memsets per forward
came from ``aten::addmm``, 40 from ``aten::mm``; ``perf17-launch-tail.txt``). Run once per setting, each in
a fresh process (cuBLAS reads its workspace size when PyTorch creates its handle):

    PYTHONPATH=$PWD:$PWD/tools/jobs python tools/jobs/gemm_workspace_ab.py mambairv2-light-x4 mambair-light-x4
    CUBLASLT_WORKSPACE_SIZE=0 CUBLAS_WORKSPACE_CONFIG=:0:0 python tools/jobs/gemm_workspace_ab.py ...

Prints per card: wall median through ``restore_tensor`` (as ``bench_models.py`` times it, CUDA graphs on),
the GPU kernel time of one forward, and the memsets and kernels in it.
"""

from __future__ import annotations

import os
import statistics
import sys

import torch
from light_wall_gap import compiled_720p_call, wall_ms  # tools/jobs on PYTHONPATH


def main(cards: list[str]) -> None:
    setting = {k: os.environ[k] for k in ("CUBLASLT_WORKSPACE_SIZE", "CUBLAS_WORKSPACE_CONFIG") if k in os.environ}
    for card in cards:
        model, x, call = compiled_720p_call(card)
        times = wall_ms(call, 15)
        out = call()
        # the kernels of one forward, eager launches visible (outside the CUDA graph)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                model.module(x.to(model.device))
            torch.cuda.synchronize()
        events = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
        memsets = sum(1 for e in events if "Memset" in e.name)
        gpu_ms = sum(e.device_time for e in events) / 1e3
        print(f"{card} {setting or 'default'}: wall median {statistics.median(times):.2f} ms "
              f"(min {min(times):.2f}, max {max(times):.2f}); one forward: {len(events)} GPU events, "
              f"{memsets} memsets, {gpu_ms:.2f} ms; out sum {out.double().sum().item():.6e}", flush=True)
        del model, call
        torch._dynamo.reset()


if __name__ == "__main__":
    main(sys.argv[1:] or ["mambairv2-light-x4", "mambair-light-x4"])

"""Where MambaIR light's wall time goes beyond its GPU kernels (bf16 + compile, 180x320 -> 720p, as
``bench_models.py`` runs it): whether the CUDA graph is in use, and a trace of one ``restore_tensor`` call
split into GPU kernel time and the host's own time.

    python tools/jobs/light_wall_gap.py [card ...]
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import restore_tensor


def compiled_720p_call(card: str):
    """The card's seeded network, bf16 + ``--compile``, and a call restoring a 180x320 photo through
    ``restore_tensor`` as ``bench_models.py`` does (shared with ``gemm_workspace_ab.py``)."""
    dev = torch.device("cuda")
    net = seeded_model(card, dev)
    configure_scan(net, backend="triton", fused_cross_scan=True)
    model = wrap_module(net, arch=card, device=dev, precision="bf16", compile=True)
    x = photo_input(180, 320, torch.device("cpu"))

    def call():
        return restore_tensor(model, x, tile=None, overlap=16)

    return model, x, call


def wall_ms(call, runs: int, warmup: int = 3) -> list[float]:
    """Wall times of ``call()`` in ms, each between two device synchronisations."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main(cards: list[str]) -> None:
    for card in cards:
        model, _, call = compiled_720p_call(card)
        times = wall_ms(call, 9)
        graphs = model.extra.get("graphs")
        print(f"{card}: wall {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f}); "
              f"graphs enabled {graphs.enabled if graphs else None} {getattr(graphs, 'disabled_reason', '')}, "
              f"captured shapes {len(graphs._graphs) if graphs else 0}", flush=True)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                torch.profiler.ProfilerActivity.CUDA]) as prof:
            call()
            torch.cuda.synchronize()
        events = prof.key_averages()
        gpu = sum(e.self_device_time_total for e in events) / 1e3
        print(f"{card}: GPU kernel time in the call {gpu:.1f} ms; top host ops:")
        for e in sorted(events, key=lambda e: -e.cpu_time_total)[:14]:
            print(f"   cpu {e.cpu_time_total / 1e3:7.2f} ms (self {e.self_cpu_time_total / 1e3:6.2f}) "
                  f"gpu {e.self_device_time_total / 1e3:6.2f} ms x{e.count:4d}  {e.key[:90]}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["mambair-light-x4", "mambairv2-light-x4"])

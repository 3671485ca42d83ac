"""The scan module (its four-route and one-route entries; "round 20" when written) against a previous one
(``_scan_prev.py`` beside this script), inside a
compiled bf16 model: GPU time of the scan kernels and of the whole forward, from the profiler, alternating.

    python tools/jobs/scan_in_model_ab.py mambair-dn-color-s25 720 1280 [path/to/previous/triton.py]
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import torch
from kernel_origins import build
from scan_softplus_ab import load

from restore_cli.bench import photo_input
from restore_cli.ops.scan import triton as current


def profiled_forward(net: torch.nn.Module, x: torch.Tensor) -> list:
    """The profiler's per-kernel averages (those with GPU time) of one bf16 forward, after one unprofiled."""
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        net(x)
        torch.cuda.synchronize()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            net(x)
            torch.cuda.synchronize()
    return [e for e in prof.key_averages() if e.self_device_time_total > 0]


def main() -> None:
    card, height, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    prev = load(Path(sys.argv[4]) if len(sys.argv) > 4 else Path(__file__).with_name("_scan_prev.py"))
    entries = ("selective_scan_cross_tokens_triton", "selective_scan_tokens_triton")
    new_fns = {entry: getattr(current, entry) for entry in entries}
    net = build(card, compiled=True)
    x = photo_input(height, width, torch.device("cuda"))
    results: dict[str, list[tuple[float, float]]] = {"previous": [], "round 20": []}
    for _ in range(3):
        for name, module in (("previous", prev), ("round 20", None)):
            for entry in entries:  # cross.py and __init__.py import them at each call
                setattr(current, entry, new_fns[entry] if module is None else getattr(module, entry))
            events = profiled_forward(net, x)
            scan = sum(e.self_device_time_total for e in events if "scan_chunk" in e.key) / 1e3
            total = sum(e.self_device_time_total for e in events) / 1e3
            results[name].append((scan, total))
    for entry in entries:
        setattr(current, entry, new_fns[entry])
    print(f"{card} {height}x{width} bf16+compile, GPU time per forward (median of 3, alternating):")
    for name, runs in results.items():
        print(f"  {name}: scan {statistics.median(r[0] for r in runs):.1f} ms, "
              f"all kernels {statistics.median(r[1] for r in runs):.1f} ms")


if __name__ == "__main__":
    main()

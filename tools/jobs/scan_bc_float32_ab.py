"""B_t/C_t read as float32 instead of bf16 (the kernel then skips widening them: ~20% fewer instructions
per step at one channel per thread, benchmarks/scan_sass.py), same scan module, CUDA-graph medians,
interleaved; then inside the compiled models, B/C widened to float32 by a copy in front of the scan.

    python tools/jobs/scan_bc_float32_ab.py [--model CARD H W]...
"""

from __future__ import annotations

import functools
import statistics
import sys

import torch
from kernel_origins import build
from scan_in_model_ab import profiled_forward
from scan_softplus_ab import cross_args, tokens_args

from restore_cli.bench import cuda_graph_us, photo_input
from restore_cli.ops.scan import triton as scan


def widened(args: tuple, b_index: int = 3) -> tuple:
    """The same operands with B and C float32 slices of one float32 projection in the same layout."""
    B, C = args[b_index], args[b_index + 1]
    base = B.as_strided((B.untyped_storage().nbytes() // B.element_size(),), (1,), 0)
    wide = base.float()
    as_wide = [wide.as_strided(t.shape, t.stride(), t.storage_offset()) for t in (B, C)]
    return (*args[:b_index], *as_wide, *args[b_index + 2 :])


def kernel_ab() -> None:
    cross, tokens = "selective_scan_cross_tokens_triton", "selective_scan_tokens_triton"
    cases = {
        "MambaIR light four routes 180x320, E 72, N 10": (cross, cross_args(180, 320, 72, n=10)),
        "colour DN four routes 720x1280, E 216": (cross, cross_args(720, 1280, 216)),
        "MambaIR classic four routes 180x320, E 360": (cross, cross_args(180, 320, 360)),
        "MambaIRv2 light one route 57600, E 48, N 8": (tokens, tokens_args(57600, 48, n=8)),
        "MambaIRv2 Base one route 57600, E 348": (tokens, tokens_args(57600, 348)),
    }
    print("| scan | B/C bf16 | B/C float32 | max abs diff |\n|---|---|---|---|")
    for label, (entry, (args, kwargs)) in cases.items():
        fn = getattr(scan, entry)
        runs = {"bf16": functools.partial(fn, *args, **kwargs), "fp32": functools.partial(fn, *widened(args), **kwargs)}
        with torch.inference_mode():
            diff = (runs["bf16"]().float() - runs["fp32"]().float()).abs().max().item()
            times: dict[str, list[float]] = {k: [] for k in runs}
            for _ in range(7):
                for key, run in runs.items():
                    times[key].append(cuda_graph_us(run, calls=5))
        print(f"| {label} | {statistics.median(times['bf16']):.0f} us | {statistics.median(times['fp32']):.0f} us "
              f"| {diff:.1e} |")


def model_ab(card: str, height: int, width: int) -> None:
    original = scan.selective_scan_cross_tokens_triton

    def with_float32_bc(*args, **kwargs):
        return original(*widened(args), **kwargs)

    net = build(card, compiled=True)
    x = photo_input(height, width, torch.device("cuda"))
    results: dict[str, list[tuple[float, float]]] = {"bf16": [], "fp32": []}
    for _ in range(3):
        for name, fn in (("bf16", original), ("fp32", with_float32_bc)):
            scan.selective_scan_cross_tokens_triton = fn
            events = profiled_forward(net, x)
            kernel = sum(e.self_device_time_total for e in events if "scan_chunk" in e.key) / 1e3
            total = sum(e.self_device_time_total for e in events) / 1e3
            results[name].append((kernel, total))
    scan.selective_scan_cross_tokens_triton = original
    print(f"{card} {height}x{width} bf16+compile, GPU time per forward (median of 3, alternating; the fp32 "
          "run's total includes the widening copies):")
    for name, runs in results.items():
        print(f"  B/C {name}: scan {statistics.median(r[0] for r in runs):.2f} ms, "
              f"all kernels {statistics.median(r[1] for r in runs):.2f} ms")


def main() -> None:
    argv = sys.argv[1:]
    if "--model" in argv:
        i = argv.index("--model")
        model_ab(argv[i + 1], int(argv[i + 2]), int(argv[i + 3]))
    else:
        kernel_ab()


if __name__ == "__main__":
    main()

"""The scan's prefetch mode per pass (chunk-end, output): every pair of 1 and 2, interleaved, GPU time from
CUDA graphs (medians), bf16 operands as under autocast, on the shapes of ``scan_softplus_ab.py``.

    python tools/jobs/scan_prefetch_ab.py
"""

from __future__ import annotations

import functools
import statistics

import torch
from scan_softplus_ab import cross_args, tokens_args

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan import triton as scan

PAIRS = ((1, 1), (1, 2), (2, 1), (2, 2))


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print("| scan, bf16 | " + " | ".join(f"prefetch {a}/{b}" for a, b in PAIRS) + " |")
    print("|---|" + "---|" * len(PAIRS))
    cross = scan.selective_scan_cross_tokens_triton
    cases = {
        "MambaIR classic four routes 180x320, E 360": (cross, cross_args(180, 320, 360)),
        "MambaIR light four routes 180x320, E 120": (cross, cross_args(180, 320, 120)),
        "colour DN four routes 720x1280, E 360": (cross, cross_args(720, 1280, 360)),
        "MambaIRv2 Base one route 57600, E 352": (scan.selective_scan_tokens_triton, tokens_args(57600, 352)),
        "MambaIRv2 light one route 57600, E 96": (scan.selective_scan_tokens_triton, tokens_args(57600, 96)),
    }
    for label, (fn, (args, kwargs)) in cases.items():
        times: dict[tuple[int, int], list[float]] = {pair: [] for pair in PAIRS}
        with torch.inference_mode():
            for _ in range(7):
                for pair in PAIRS:
                    times[pair].append(cuda_graph_us(functools.partial(fn, *args, prefetch=pair, **kwargs), calls=5))
        print(f"| {label} | " + " | ".join(f"{statistics.median(times[p]):.0f} us" for p in PAIRS) + " |")


if __name__ == "__main__":
    main()

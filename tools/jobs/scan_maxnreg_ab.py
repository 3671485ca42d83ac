"""The scan's output pass at two channels per thread with its registers capped (``maxnreg``: more warps per
SM) against ptxas's own choice (128), interleaved, GPU time from CUDA graphs (medians), bf16.

    python tools/jobs/scan_maxnreg_ab.py
"""

from __future__ import annotations

import functools
import statistics

import torch
from scan_softplus_ab import cross_args, tokens_args

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan import triton as scan

CAPS = (None, 120, 112, 104)


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print("| scan, bf16 | " + " | ".join(f"output pass maxnreg {c}" for c in CAPS) + " |")
    print("|---|" + "---|" * len(CAPS))
    cross = scan.selective_scan_cross_tokens_triton
    cases = {
        "MambaIR classic four routes 180x320, E 360": (cross, cross_args(180, 320, 360)),
        "colour DN four routes 720x1280, E 360": (cross, cross_args(720, 1280, 360)),
        "MambaIRv2 Base one route 57600, E 352": (scan.selective_scan_tokens_triton, tokens_args(57600, 352)),
    }
    for label, (fn, (args, kwargs)) in cases.items():
        times: dict[int | None, list[float]] = {cap: [] for cap in CAPS}
        outs = {}
        with torch.inference_mode():
            for _ in range(7):
                for cap in CAPS:
                    scan.OUTPUT_PASS_MAXNREG.clear()
                    if cap:
                        scan.OUTPUT_PASS_MAXNREG[2] = cap
                    outs[cap] = fn(*args, **kwargs).float()
                    times[cap].append(cuda_graph_us(functools.partial(fn, *args, **kwargs), calls=5))
        diff = max((outs[c] - outs[None]).abs().max().item() for c in CAPS)
        print(f"| {label} | " + " | ".join(f"{statistics.median(times[c]):.0f} us" for c in CAPS)
              + f" | (max abs diff {diff:.1e})")
    scan.OUTPUT_PASS_MAXNREG.clear()


if __name__ == "__main__":
    main()

"""MambaIRv2's token grouping: PyTorch's stable radix sort plus scatter (the reference) against the
counting-sort kernels (:mod:`restore_cli.ops.class_order`) around the rule that picks between them
(``KERNEL_MAX_WORK``): smaller and larger canvases than the 720p benchmark's (192x320 tokens), batches of
tiles, a whole 1280x720 image; GPU time from CUDA graphs, interleaved medians; outputs must be equal.

    python tools/jobs/class_order_ab.py
"""

from __future__ import annotations

import statistics

import torch

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.class_order import stable_class_order


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print("| case | sort + scatter | kernels | equal |\n|---|---|---|---|")
    for label, rows, n, classes in [("v2 light, 96x160", 1, 15360, 64), ("v2 light, 192x320", 1, 61440, 64),
                                    ("v2 light, 2 x 192x320", 2, 61440, 64), ("v2 light, 4 x 192x256", 4, 49152, 64),
                                    ("v2 Base, 96x160", 1, 15360, 128), ("v2 Base, 192x320", 1, 61440, 128),
                                    ("v2 Base, 4 tiles of 192x256", 4, 49152, 128),
                                    ("v2 denoising, 1280x720 whole", 1, 921600, 128)]:
        cls = torch.randint(0, classes, (rows, n), device="cuda")
        want = stable_class_order(cls, classes, backend="reference")
        got = stable_class_order(cls, classes, backend="triton")
        equal = torch.equal(want[0], got[0]) and torch.equal(want[1], got[1])
        times = {"reference": [], "triton": []}
        for _ in range(5):
            for backend in times:
                times[backend].append(cuda_graph_us(
                    lambda b=backend, c=cls, t=classes: stable_class_order(c, t, backend=b)))
        print(f"| {label}, T {classes} | {statistics.median(times['reference']):.1f} us | "
              f"{statistics.median(times['triton']):.1f} us | {equal} |", flush=True)


if __name__ == "__main__":
    main()

r"""Time chunks for the light models' scans at their real shapes (MambaIR light: four routes of 72
channels, 10 states; MambaIRv2 light: one route of 96 channels, 8 states), the launcher's default
(``default_n_chunks``, tuned when the A/B cases had other shapes) against fewer and more.

GPU time from CUDA graphs, interleaved medians, bf16.

    PYTHONPATH=$PWD:$PWD/tools/jobs python tools/jobs/scan_chunks_light_ab.py [LABEL-TEXT [CHUNKS ...]]

LABEL-TEXT picks the ``scan_cases`` (default "light"); given chunk counts replace the factors.
"""

from __future__ import annotations

import functools
import statistics
import sys

import torch
from scan_softplus_ab import scan_cases

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan import triton as scan

FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)


def main() -> None:
    match = sys.argv[1] if len(sys.argv) > 1 else "light"  # which scan_cases labels to time
    counts_given = [int(a) for a in sys.argv[2:]]  # chunk counts instead of the factors
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    heads = [f"{n} chunks" for n in counts_given] or [f"{f}x chunks" for f in FACTORS]
    print("| scan, bf16 | " + " | ".join(heads) + " |\n|---|" + "---|" * len(heads))
    sm_count = torch.cuda.get_device_properties(0).multi_processor_count
    for label, (entry, (args, kwargs)) in scan_cases().items():
        if match not in label:
            continue
        channels, length = args[1].shape[-1], args[0].shape[1]
        per_group = channels // 4 if "four routes" in label else channels
        block_d, per_thread = scan.default_block_d(per_group), scan.channels_per_thread(per_group)
        programs = (channels // per_group) * -(-per_group // block_d)
        if "four routes" in label and scan.use_route_lanes(per_group, block_d, per_thread):  # as the launcher
            programs = -(-per_group // (block_d // scan.ROUTES))
        default = scan.default_n_chunks(programs, length, sm_count=sm_count, per_thread=per_thread)
        counts = counts_given or [max(1, round(default * f)) for f in FACTORS]
        fn = getattr(scan, entry)
        runs = {n: functools.partial(fn, *args, **kwargs, n_chunks=n) for n in counts}
        times: dict[int, list[float]] = {n: [] for n in counts}
        with torch.inference_mode():
            for _ in range(7):
                for n, run in runs.items():
                    times[n].append(cuda_graph_us(run, calls=5))
        cells = [f"{statistics.median(times[n]):.0f} us ({n})" for n in counts]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

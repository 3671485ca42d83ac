r"""MambaIRv2's one-route token scan, previous module (``_scan_prev.py`` beside this script) against the
current one, at the shapes the benchmark's cases give it: 720p whole (1 x 57,600 tokens) and 4K in
batches of four balanced tiles of 208x264 (4 x 54,912), E 352 (Base) and 96 (light).

GPU time from CUDA graphs, interleaved medians, bf16 operands; outputs compared.

    PYTHONPATH=$PWD:$PWD/tools/jobs python tools/jobs/scan_tokens_batch_ab.py
"""

from __future__ import annotations

import functools
import statistics
from pathlib import Path

import torch
from scan_softplus_ab import load, tokens_args

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan import triton as current


def main() -> None:
    prev = load(Path(__file__).with_name("_scan_prev.py"))
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print("| one-route scan, bf16 | previous module | current module | max abs diff |\n|---|---|---|---|")
    for label, (batch, length, channels) in {
        "MambaIRv2 Base 720p, 1 x 57600, E 352": (1, 57600, 352),
        "MambaIRv2 Base 4K tiles, 4 x 54912, E 352": (4, 54912, 352),
        "MambaIRv2 Base 4K whole, 1 x 518400, E 352": (1, 518400, 352),
        "MambaIRv2 light 4K whole, 1 x 518400, E 96": (1, 518400, 96),
    }.items():
        args, _ = tokens_args(length, channels, batch=batch)
        fns = {"prev": prev.selective_scan_tokens_triton, "new": current.selective_scan_tokens_triton}
        with torch.inference_mode():
            diff = (fns["prev"](*args).float() - fns["new"](*args).float()).abs().max().item()
            times: dict[str, list[float]] = {k: [] for k in fns}
            for _ in range(7):
                for key, fn in fns.items():
                    times[key].append(cuda_graph_us(functools.partial(fn, *args), calls=3))
        print(f"| {label} | {statistics.median(times['prev']):.0f} us | {statistics.median(times['new']):.0f} us "
              f"| {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()

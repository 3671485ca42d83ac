r"""The four-route scan's second pass two ways: a second walk over every chunk from its true entering state
(the default) against a walk from zero states that also stores the outputs, then
``_entry_state_kernel`` adding the entering states' share of the outputs (no recurrence: a tile of steps
at once), at a few of that kernel's tile shapes.

GPU time from CUDA graphs, interleaved medians, bf16 operands as under autocast; outputs compared with
the two-walk scan.

    git apply tools/jobs/scan-entry-pass.patch   # the entry pass (not in the library: it lost)
    PYTHONPATH=$PWD:$PWD/tools/jobs python tools/jobs/scan_entry_ab.py [--rounds=7]

H100, 2026-11-24 (``results/perf22a-scan-entry-pass-ab.txt``): slower at every tile shape, e.g. MambaIR
classic 1237 us with two walks, 1347 us at best with the entry pass; colour DN 19.2 vs 20.6 ms.
"""

from __future__ import annotations

import statistics
import sys

import torch
from scan_softplus_ab import scan_cases

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan import triton as scan

SHAPES = {  # ENTRY_BLOCK_D, ENTRY_BLOCK_T, ENTRY_WARPS
    "entry D128 T4 W2": (128, 4, 2),
    "entry D64 T4 W1": (64, 4, 1),
    "entry D128 T2 W1": (128, 2, 1),
    "entry D64 T8 W2": (64, 8, 2),
}


def variant(args: tuple, kwargs: dict, shape: tuple[int, int, int] | None):
    """A call of the cross scan with the entry pass at ``shape`` (None: the two walks)."""

    def call() -> torch.Tensor:
        if shape is not None:
            scan.ENTRY_BLOCK_D, scan.ENTRY_BLOCK_T, scan.ENTRY_WARPS = shape
        return scan.selective_scan_cross_tokens_triton(*args, **kwargs, entry_pass=shape is not None)

    return call


def main() -> None:
    rounds = next((int(a.split("=")[1]) for a in sys.argv[1:] if a.startswith("--rounds=")), 7)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    cases = {label: args for label, (entry, args) in scan_cases().items() if "four routes" in label}
    names = ["two walks", *SHAPES]
    print("| scan, bf16 | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for label, (args, kwargs) in cases.items():
        calls = {name: variant(args, kwargs, SHAPES.get(name)) for name in names}
        with torch.inference_mode():
            base = calls["two walks"]().clone()
            diffs = {name: (fn() - base).abs().max().item() for name, fn in calls.items()}
            times: dict[str, list[float]] = {name: [] for name in names}
            for _ in range(rounds):
                for name, fn in calls.items():
                    times[name].append(cuda_graph_us(fn, calls=3 if "DN" in label else 5))
        cells = [f"{statistics.median(times[n]):.0f} us ({diffs[n]:.1e})" for n in names]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

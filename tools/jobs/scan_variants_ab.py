"""One A/B case of the current scan module under several launch settings, CUDA-graph medians, interleaved:

    python tools/jobs/scan_variants_ab.py "MambaIR light" "default:" "pf3:prefetch=3" "pf3-308:prefetch=3,n_chunks=308"

``--module=PATH`` takes the entry point from another copy of the scan module (e.g. a candidate).
"""

from __future__ import annotations

import functools
import statistics
import sys
from pathlib import Path

import torch
from scan_softplus_ab import load, scan_cases

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan import triton as current


def main() -> None:
    label = next(k for k in scan_cases() if k.startswith(sys.argv[1]))
    entry, (args, kwargs) = scan_cases()[label]
    modules = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--module=")]
    fn = getattr(load(Path(modules[0])) if modules else current, entry)
    variants = {}
    for spec in (a for a in sys.argv[2:] if not a.startswith("--")):
        name, _, settings = spec.partition(":")
        extra = {k: int(v) for k, v in (item.split("=") for item in settings.split(",") if item)}
        variants[name] = functools.partial(fn, *args, **kwargs, **extra)
    with torch.inference_mode():
        reference = next(iter(variants.values()))().float()
        diffs = {name: (run().float() - reference).abs().max().item() for name, run in variants.items()}
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(7):
            for name, run in variants.items():
                times[name].append(cuda_graph_us(run, calls=5))
    print(f"{label}: " + ", ".join(f"{name} {statistics.median(t):.0f} us (diff {diffs[name]:.1e})"
                                   for name, t in times.items()))


if __name__ == "__main__":
    main()

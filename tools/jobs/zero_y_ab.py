"""The four-route scan's output zeroed by its chunk-end pass (``ZERO_Y``) at one channel per thread in
blocks (MambaIR DN/JPEG) against the fill kernel before it, per benchmark case: wall time and peak through
the engine (bf16 + ``--compile`` by default), one case per process.

    python tools/jobs/zero_y_ab.py "MambaIR colour DN, 1280x720" --fill
"""

from __future__ import annotations

import argparse

from restore_cli import bench
from restore_cli.ops.scan import triton as scan_triton


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("label")
    parser.add_argument("--fill", action="store_true", help="zero the output with a fill kernel, as before")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--path", default="bf16+compile", help="a benchmark path (bf16: the default CUDA path)")
    args = parser.parse_args()
    if args.fill:
        scan_triton.zero_y_in_chunk_end = lambda *, route_lanes, route_blocks: route_lanes
    cases = [c for c in bench.DEFAULT_CASES if c.label == args.label]
    for row in bench.run_benchmark(cases, repeats=args.repeats, paths=[args.path], log=lambda *_: None):
        how = "fill kernel" if args.fill else "chunk-end pass"
        print(f"y zeroed by {how:14s} {row.case} ({args.path}): {row.ms:.2f} ms, peak {row.peak_gib:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

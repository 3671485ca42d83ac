"""MambaIR's CAB reading LayerNorm rows padded to :func:`conv_input_width` (180 channels -> 192) against the
8-aligned width before it (184), per benchmark case: wall time and peak through the engine (bf16 +
``--compile`` by default), one case per process.

    python tools/jobs/conv_width_ab.py "MambaIR colour DN, 1280x720" --aligned-only
"""

from __future__ import annotations

import argparse

from restore_cli import bench
from restore_cli.archs import mambair


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("label")
    parser.add_argument("--aligned-only", action="store_true", help="rows of aligned_width, as before")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--path", default="bf16+compile", help="a benchmark path (bf16: the default CUDA path)")
    args = parser.parse_args()
    if args.aligned_only:
        mambair.conv_input_width = mambair.aligned_width
    cases = [c for c in bench.DEFAULT_CASES if c.label == args.label]
    for row in bench.run_benchmark(cases, repeats=args.repeats, paths=[args.path], log=lambda *_: None):
        how = "aligned_width" if args.aligned_only else "conv_input_width"
        print(f"CAB rows of {how:16s} {row.case} ({args.path}): {row.ms:.2f} ms, peak {row.peak_gib:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

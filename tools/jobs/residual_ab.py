"""MambaIR's and MambaIRv2's residual updates by the Triton kernel
(:func:`restore_cli.ops.residual.scaled_residual`) against PyTorch's ``addcmul`` / ``mul_`` / adds before it,
per benchmark case on the default CUDA path (bf16, not compiled):
wall time and peak through the engine, one case per process.

    python tools/jobs/residual_ab.py "MambaIR colour DN, 1280x720" --torch
"""

from __future__ import annotations

import argparse
import functools

from restore_cli import bench
from restore_cli.archs import mambair, mambair_v2
from restore_cli.ops.residual import scaled_residual


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("label")
    parser.add_argument("--torch", action="store_true", help="the updates as PyTorch ops, as before")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--path", default="bf16", help="a benchmark path (bf16: the default CUDA path)")
    args = parser.parse_args()
    if args.torch:
        mambair.scaled_residual = mambair_v2.scaled_residual = functools.partial(scaled_residual, backend="reference")
    cases = [c for c in bench.DEFAULT_CASES if c.label == args.label]
    for row in bench.run_benchmark(cases, repeats=args.repeats, paths=[args.path], log=lambda *_: None):
        how = "PyTorch ops" if args.torch else "Triton kernel"
        print(f"residual by {how:13s} {row.case} ({args.path}): {row.ms:.2f} ms, peak {row.peak_gib:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""MambaIR's four-route scan making δ from its low-rank projection in the kernel (``RANK``) against the
δ GEMM before it, per benchmark case: wall time and peak memory through the engine (bf16 + ``--compile``
by default), one case per process.

    python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta gemm

``--delta gemm`` makes :func:`restore_cli.ops.scan.cross.scan_makes_delta` answer no, so ``SS2D`` writes
the (L, 4·E) δ tensor with a GEMM and the kernel reads it, as before; ``kernel`` makes it answer yes,
``policy`` leaves it as it is. ``--no-split`` keeps ``in_proj`` one GEMM at every size; ``--no-gate``
(the default CUDA path, ``--path bf16``) runs ``out_norm(y) * silu(z)`` as before the gated LayerNorm.
"""

from __future__ import annotations

import argparse
import sys

from restore_cli import bench
from restore_cli.archs import mambair
from restore_cli.ops.scan import cross


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("label")
    parser.add_argument("--delta", choices=["kernel", "gemm", "policy"], default="kernel")
    parser.add_argument("--no-split", action="store_true", help="in_proj as one GEMM whatever the size")
    parser.add_argument("--no-gate", action="store_true",
                        help="SS2D's out_norm and its silu gate as before, not by the gated Triton LayerNorm")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--path", default="bf16+compile", help="a benchmark path (bf16: the default CUDA path)")
    args = parser.parse_args()
    if args.delta != "policy":
        cross.scan_makes_delta = lambda tokens, backend="auto", kernel=args.delta == "kernel": kernel
    if args.no_split:
        mambair.SPLIT_IN_PROJ_ELEMENTS = 2**62
    if args.no_gate:  # only forward_fused's call answers no (layer_norm_to_width keeps its kernel)
        use_triton = mambair.use_triton_layer_norm
        mambair.use_triton_layer_norm = lambda x, weight: (sys._getframe(1).f_code.co_name != "forward_fused"
                                                           and use_triton(x, weight))
    cases = [c for c in bench.DEFAULT_CASES if c.label == args.label]
    for row in bench.run_benchmark(cases, repeats=args.repeats, paths=[args.path], log=lambda *_: None):
        split = ("one in_proj" if args.no_split else "in_proj split where large") + (
            ", norm then gate" if args.no_gate else "")
        print(f"delta by {args.delta:6s} {split} {row.case} ({args.path}): {row.ms:.2f} ms, "
              f"peak {row.peak_gib:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

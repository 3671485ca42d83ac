"""MambaIR's compiled blocks on aligned (zero-padded) branch widths against the unaligned blocks, per
benchmark case, wall time through the engine (bf16 + ``--compile``, CUDA graphs), one case per process.

    python tools/jobs/aligned_ab.py "MambaIR light SR x4, 720p out" [--without blocks] [--without group-conv]

``--without blocks`` makes :meth:`VSSBlock.runs_aligned` answer no, so the blocks compile as before
(Inductor pads the GEMM operands itself); ``--without group-conv`` folds no padded group conv, so
:class:`ResidualGroup` convolves as before (cuDNN pads the channels itself).
"""

from __future__ import annotations

import argparse

from fold_ab import time_case

from restore_cli.archs import mambair


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("label")
    parser.add_argument("--without", action="append", choices=["blocks", "group-conv"], default=[])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--path", default="bf16+compile", help="a benchmark path (bf16: the default CUDA path)")
    args = parser.parse_args()
    if "blocks" in args.without:
        mambair.VSSBlock.runs_aligned = lambda self, x: False
    if "group-conv" in args.without:
        mambair.ResidualGroup.fold_inference_weights = lambda self: None
    time_case(args.label, args.repeats, f"without {'+'.join(args.without) or 'nothing':<20}", args.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""MambaIRv2's default CUDA path with and without its aligned widths (``align_mambairv2`` outside
``--compile``) and its chained layers (``AttentiveLayer.forward_chained``), per benchmark case through the
engine, one case per process.

    python tools/jobs/v2_default_path_ab.py "MambaIRv2 Base SR x4, 720p out" --no-align --no-chain
"""

from __future__ import annotations

from engine_ab import case_parser, run_case

from restore_cli.archs import mambair_v2


def main() -> int:
    parser = case_parser(default_path="bf16")
    parser.add_argument("--no-align", action="store_true", help="keep the official widths (174 / 348)")
    parser.add_argument("--no-chain", action="store_true", help="the layers' PyTorch passes between the branches")
    args = parser.parse_args()
    if args.no_align:
        mambair_v2.MambaIRv2.align_channels = lambda self: False
    if args.no_chain:
        mambair_v2.AttentiveLayer.runs_chained = lambda self, x: False
    side = f"align {'off' if args.no_align else 'on '} chain {'off' if args.no_chain else 'on '}"
    return run_case(args, lambda: side)


if __name__ == "__main__":
    raise SystemExit(main())

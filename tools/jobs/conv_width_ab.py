"""MambaIR's CAB reading LayerNorm rows padded to :func:`conv_input_width` (180 channels -> 192) against the
8-aligned width before it (184), per benchmark case: wall time and peak through the engine (bf16 +
``--compile`` by default), one case per process.

    python tools/jobs/conv_width_ab.py "MambaIR colour DN, 1280x720" --aligned-only
"""

from __future__ import annotations

from engine_ab import case_parser, run_case

from restore_cli.archs import mambair


def main() -> int:
    parser = case_parser()
    parser.add_argument("--aligned-only", action="store_true", help="rows of aligned_width, as before")
    args = parser.parse_args()
    if args.aligned_only:
        mambair.conv_input_width = mambair.aligned_width
    return run_case(args, lambda: f"CAB rows of {'aligned_width' if args.aligned_only else 'conv_input_width':16s}")


if __name__ == "__main__":
    raise SystemExit(main())

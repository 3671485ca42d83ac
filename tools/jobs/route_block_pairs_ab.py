"""bf16 B_t/C_t read as int32 pairs in the four-route scan's route blocks at one channel per thread
(``restore_cli.ops.scan.triton.ROUTE_BLOCK_PAIRS``: colour DN, JPEG) against the compiler's widening, per
benchmark case through the engine (default CUDA path unless ``--path``), one case per process.

    python tools/jobs/route_block_pairs_ab.py "MambaIR colour DN, 1280x720" --pairs
"""

from __future__ import annotations

from engine_ab import case_parser, run_case

from restore_cli.ops.scan import triton as scan_triton


def main() -> int:
    parser = case_parser(default_path="bf16")
    parser.add_argument("--pairs", action="store_true", help="B/C as int32 pairs widened by hand")
    args = parser.parse_args()
    scan_triton.ROUTE_BLOCK_PAIRS = args.pairs
    return run_case(args, lambda: f"B/C {'pairs' if args.pairs else 'compiler':8s}")


if __name__ == "__main__":
    raise SystemExit(main())

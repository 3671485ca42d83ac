"""The four-route scan's output zeroed by its chunk-end pass (``ZERO_Y``) at one channel per thread in
blocks (MambaIR DN/JPEG) against the fill kernel before it, per benchmark case: wall time and peak through
the engine (bf16 + ``--compile`` by default), one case per process.

    python tools/jobs/zero_y_ab.py "MambaIR colour DN, 1280x720" --fill
"""

from __future__ import annotations

from engine_ab import case_parser, run_case

from restore_cli.ops.scan import triton as scan_triton


def main() -> int:
    parser = case_parser()
    parser.add_argument("--fill", action="store_true", help="zero the output with a fill kernel, as before")
    args = parser.parse_args()
    if args.fill:
        scan_triton.zero_y_in_chunk_end = lambda *, route_lanes, route_blocks: route_lanes
    return run_case(args, lambda: f"y zeroed by {'fill kernel' if args.fill else 'chunk-end pass':14s}")


if __name__ == "__main__":
    raise SystemExit(main())

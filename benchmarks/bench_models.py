"""Time every catalog architecture on a GPU: fast path vs the official computation pattern.

    python benchmarks/bench_models.py [--repeats 3] [--quick] [--match 4K] [--paths reference,bf16,bf16+compile]

Prints a markdown table (see restore_cli/bench.py for what each path means). Each case runs in a fresh
process, as the CLI runs one network per process: some settings hold for a whole process from its first
GEMM on (cuBLAS's workspace, which the engine leaves out for the light networks only), so a case timed
after another network in the same process would run with that network's (``restore_cli.bench.
run_benchmark_isolated``). ``--one-process`` runs all cases in this process instead.
"""

from __future__ import annotations

import argparse

import torch

from restore_cli.bench import (
    DEFAULT_CASES,
    DEFAULT_PATHS,
    PATHS,
    format_table,
    parse_paths,
    run_benchmark,
    run_benchmark_isolated,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="only the 720p cases")
    parser.add_argument("--match", default="",
                        help="only the cases whose label contains this text (several: separated by '|')")
    parser.add_argument("--paths", default=",".join(DEFAULT_PATHS),
                        help=f"comma-separated, the first is the baseline; of {', '.join(PATHS)}")
    parser.add_argument("--one-process", action="store_true", help="run every case in this process")
    args = parser.parse_args()
    try:
        paths = parse_paths(args.paths)
    except ValueError as exc:
        parser.error(str(exc))
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to benchmark")
        return 0
    wanted = args.match.split("|")
    cases = [c for c in DEFAULT_CASES
             if (not args.quick or "4K" not in c.label) and any(text in c.label for text in wanted)]
    run = run_benchmark if args.one_process else run_benchmark_isolated
    rows = run(cases, repeats=args.repeats, paths=paths)
    print(format_table(rows, torch.cuda.get_device_name()))
    return 0 if rows or not cases else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""What the engine-level A/B jobs share: one benchmark case by its label, timed through the engine as the
benchmark runs it (one case per process: each job script runs one side of an A/B), printed as one line.

    parser = case_parser(default_path="bf16")   # label, --repeats, --path
    ...patch the side under test...
    run_case(args, lambda: "side A")
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from restore_cli import bench


def case_parser(*, default_path: str = "bf16+compile") -> argparse.ArgumentParser:
    """A parser with the case's label, ``--repeats`` and ``--path`` (a benchmark path)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("label", help="a benchmark case's label (restore_cli.bench.DEFAULT_CASES)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--path", default=default_path, help="a benchmark path (bf16: the default CUDA path)")
    return parser


def run_case(args: argparse.Namespace, side: Callable[[], str]) -> int:
    """Time the case ``args.label`` on ``args.path``; print ``side()``, the case, median ms and peak."""
    cases = [c for c in bench.DEFAULT_CASES if c.label == args.label]
    if not cases:
        raise SystemExit(f"no benchmark case is labelled {args.label!r}")
    for row in bench.run_benchmark(cases, repeats=args.repeats, paths=[args.path], log=lambda *_: None):
        print(f"{side()} {row.case} ({args.path}): {row.ms:.2f} ms, peak {row.peak_gib:.2f} GiB")
    return 0

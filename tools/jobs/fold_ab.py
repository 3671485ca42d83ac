"""The twenty-sixth session's three changes against the code before them, per benchmark case, wall time
through the engine (bf16 + ``--compile``, CUDA graphs): one case per process, as the benchmark runs.

    python tools/jobs/fold_ab.py "MambaIR light SR x4, 720p out" [--as-before] [--repeats 7]

``--as-before`` puts back, by patching: the traced ``functools.cache`` mamba-ssm probe (a graph break in
every compiled MambaIR block), linear-only weight casts (the blocks' convolutions cast in every forward) and
no folding (weight-only tensors remade in every forward).
"""

from __future__ import annotations

import argparse

import torch

from restore_cli import bench
from restore_cli.engine import model as engine_model


def as_before() -> None:
    from graph_breaks import restore_traced_mamba_probe

    def store_linears_only(module: torch.nn.Module, dtype: torch.dtype) -> int:
        layers = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
        for layer in layers:
            layer.to(dtype)
        return len(layers)

    restore_traced_mamba_probe()
    engine_model.store_matmul_weights_in = store_linears_only
    engine_model.fold_inference_weights = lambda module: 0


def time_case(label: str, repeats: int, tag: str, path: str = "bf16+compile") -> None:
    """Print the wall-time median of the benchmark case ``label`` on ``path``, prefixed by ``tag``."""
    cases = [c for c in bench.DEFAULT_CASES if c.label == label]
    rows = bench.run_benchmark(cases, repeats=repeats, paths=[path], log=lambda *_: None)
    for row in rows:
        print(f"{tag} {row.case} ({path}): {row.ms:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("label")
    parser.add_argument("--as-before", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.as_before:
        as_before()
    time_case(args.label, args.repeats, "before" if args.as_before else "now   ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

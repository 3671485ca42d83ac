"""MambaIR's and MambaIRv2's residual updates by the Triton kernel
(:func:`restore_cli.ops.residual.scaled_residual`) against PyTorch's ``addcmul`` / ``mul_`` / adds before it,
per benchmark case on the default CUDA path (bf16, not compiled):
wall time and peak through the engine, one case per process.

    python tools/jobs/residual_ab.py "MambaIR colour DN, 1280x720" --torch
"""

from __future__ import annotations

import functools

from engine_ab import case_parser, run_case

from restore_cli.archs import mambair, mambair_v2
from restore_cli.ops.residual import scaled_residual


def main() -> int:
    parser = case_parser(default_path="bf16")
    parser.add_argument("--torch", action="store_true", help="the updates as PyTorch ops, as before")
    args = parser.parse_args()
    if args.torch:
        mambair.scaled_residual = mambair_v2.scaled_residual = functools.partial(scaled_residual, backend="reference")
    return run_case(args, lambda: f"residual by {'PyTorch ops' if args.torch else 'Triton kernel':13s}")


if __name__ == "__main__":
    raise SystemExit(main())

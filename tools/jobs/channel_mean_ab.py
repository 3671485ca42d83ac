"""The CAB's channel means by the Triton kernel (:func:`restore_cli.ops.channel_mean.channel_mean`) against
PyTorch's ``mean`` before it, per benchmark case on the default CUDA path (bf16, not compiled): wall time
and peak through the engine, one case per process.

    python tools/jobs/channel_mean_ab.py "MambaIR classic SR x4, 720p out" --torch
"""

from __future__ import annotations

import functools

from engine_ab import case_parser, run_case

from restore_cli.archs import mambair
from restore_cli.ops.channel_mean import channel_mean


def main() -> int:
    parser = case_parser(default_path="bf16")
    parser.add_argument("--torch", action="store_true", help="PyTorch's mean, as before")
    args = parser.parse_args()
    if args.torch:
        mambair.channel_mean = functools.partial(channel_mean, backend="reference")
    return run_case(args, lambda: f"channel mean by {'PyTorch' if args.torch else 'Triton kernel':13s}")


if __name__ == "__main__":
    raise SystemExit(main())

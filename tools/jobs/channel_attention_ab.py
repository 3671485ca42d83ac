"""MambaIR's channel attention as the partial sums plus one Triton program per image
(``restore_cli.ops.channel_mean.FUSED_ATTENTION``) against PyTorch's eight small launches, per benchmark
case through the engine (default CUDA path unless ``--path``), one case per process.

    python tools/jobs/channel_attention_ab.py "MambaIR light SR x4, 720p out" --fused
"""

from __future__ import annotations

from engine_ab import case_parser, run_case

from restore_cli.ops import channel_mean


def main() -> int:
    parser = case_parser(default_path="bf16")
    parser.add_argument("--fused", action="store_true", help="the channel attention in one kernel")
    args = parser.parse_args()
    channel_mean.FUSED_ATTENTION = args.fused
    return run_case(args, lambda: f"attention {'fused  ' if args.fused else 'PyTorch'}")


if __name__ == "__main__":
    raise SystemExit(main())

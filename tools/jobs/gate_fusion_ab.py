"""MambaIRv2 light's gate ``x1 * dwconv5x5(LayerNorm(x2))`` with the product in the depthwise kernel's
epilogue (``conv_on_tokens(..., combine="mul", other=x1)``, the default) against the product as its own
PyTorch pass (``--separate``), per benchmark case through the engine, one case per process.

    python tools/jobs/gate_fusion_ab.py "MambaIRv2 light SR x4, 720p out" --separate
"""

from __future__ import annotations

from engine_ab import case_parser, run_case

from restore_cli.archs import mambair_v2
from restore_cli.archs.layers import conv_on_tokens


def separate_product(self, x, x_size):
    """The gate's fast path as it was: the convolution, then ``x1 *`` it as a second pass."""
    x1, x2 = x.chunk(2, dim=-1)
    if mambair_v2.fast_path(self, x2):
        x2 = mambair_v2.normalised_in_autocast_dtype(self.norm, x2)
        return x1 * conv_on_tokens(self.conv, x2, x_size)
    return original(self, x, x_size)


original = mambair_v2.Gate.forward


def main() -> int:
    parser = case_parser(default_path="bf16")
    parser.add_argument("--separate", action="store_true", help="the product as its own pass")
    args = parser.parse_args()
    if args.separate:
        mambair_v2.Gate.forward = separate_product
    return run_case(args, lambda: f"gate {'separate' if args.separate else 'fused   '}")


if __name__ == "__main__":
    raise SystemExit(main())

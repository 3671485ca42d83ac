"""MambaIR's block on the default CUDA path (bf16, not compiled), with and without the thirtieth session's two
changes, per benchmark case: wall time and peak through the engine, one case per process.

- ``--cudnn-bias``: the CAB's two 3x3 convs add their biases as cuDNN does (a pass after each conv), as
  before; without it the first conv's bias is a weight on a column of ones of the LayerNorm's rows and the
  second's is added by the residual pass;
- ``--separate-norm``: the LayerNorm after the block's first residual update reads the stream back (its
  own kernel), as before; without it the residual pass writes the normalised rows too;
- ``--unchained``: each block of a residual group normalises its own input, as before; without it the
  previous block's last residual pass writes those rows (``BasicLayer`` chaining ``forward_chained``).

    python tools/jobs/bias_norm_ab.py "MambaIR colour DN, 1280x720" --cudnn-bias --separate-norm
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from engine_ab import case_parser, run_case

from restore_cli.archs import mambair
from restore_cli.archs.layers import folded_weight
from restore_cli.ops.layer_norm.triton import layer_norm_triton
from restore_cli.ops.residual import scaled_residual

NEW_FEATURES = mambair.CAB.features_and_attention


def cudnn_bias_features(self, x: torch.Tensor):
    """The normal CAB as before: both biases in cuDNN's calls (``w1_wide``'s bias column multiplies the
    zeros the LayerNorm writes when no ones column is asked)."""
    if self.is_light_sr:
        return NEW_FEATURES(self, x)
    first, act, second, _attention = self.cab
    w1 = folded_weight(self, "w1" if x.shape[-1] == mambair.aligned_width(first.in_channels) else "w1_wide")
    y = act(F.conv2d(x.permute(0, 3, 1, 2), w1, folded_weight(self, "b1"), padding=first.padding))
    del x
    y = F.conv2d(y, folded_weight(self, "w2"), folded_weight(self, "b2"), padding=second.padding).permute(0, 2, 3, 1)
    squeezed = F.relu(self._one_pixel_conv("squeeze", y.mean(dim=(1, 2), dtype=torch.float32)))
    return y, torch.sigmoid(self._one_pixel_conv("excite", squeezed)), None


def separate_norm(x, scale, branch, gate=None, *, norm_weight, norm_bias, eps, width, dtype, ones_column=None,
                  branch_bias=None, out=None):
    x = scaled_residual(x, scale, branch, gate, branch_bias=branch_bias, out=out)
    return x, layer_norm_triton(x, norm_weight, norm_bias, eps, out_width=width, out_dtype=dtype,
                                ones_column=ones_column)


def unchained_forward(self, x, x_size):
    for i, block in enumerate(self.blocks):
        x = block(x, x_size) if i == 0 or getattr(block, "_restore_compiled", False) else block(
            x, x_size, reuse_input=True)
    return x


def main() -> int:
    parser = case_parser(default_path="bf16")
    parser.add_argument("--cudnn-bias", action="store_true", help="the CAB's biases added by cuDNN, as before")
    parser.add_argument("--separate-norm", action="store_true", help="the block's second LayerNorm on its own")
    parser.add_argument("--unchained", action="store_true", help="each block's first LayerNorm on its own")
    args = parser.parse_args()
    if args.unchained:
        mambair.BasicLayer.forward = unchained_forward
    if args.cudnn_bias:
        mambair.CAB.bias_column = lambda self: None
        mambair.CAB.features_and_attention = cudnn_bias_features
    if args.separate_norm:
        mambair.scaled_residual_and_norm = separate_norm
    return run_case(args, lambda: f"cudnn-bias {args.cudnn_bias!s:5} separate-norm {args.separate_norm!s:5} "
                                  f"unchained {args.unchained!s:5}")


if __name__ == "__main__":
    raise SystemExit(main())

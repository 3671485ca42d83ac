"""Depthwise convolutions of the catalog's models on channel-last tokens, bf16, H100: cuDNN's channel-last
kernel (what :func:`restore_cli.archs.layers.conv_on_tokens` runs) alone and with its elementwise epilogue
(activation, residual add) as separate kernels, against the Triton kernel
(:mod:`restore_cli.ops.depthwise_conv.triton`) under tile shapes, epilogue fused. GPU time from CUDA graphs.

    python tools/jobs/depthwise_conv_kernel_ab.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from restore_cli.archs.layers import _conv2d_tokens
from restore_cli.bench import cuda_graph_us
from restore_cli.ops.depthwise_conv import tap_table
from restore_cli.ops.depthwise_conv.triton import depthwise_conv_triton

# (name, height, width, channels, k, dilation, activation, residual)
CASES = [
    ("v2 Base ConvFFN (aligned)", 192, 320, 352, 5, 1, "gelu", True),
    ("v2 Base ConvFFN (eager)", 192, 320, 348, 5, 1, "gelu", True),
    ("v2 Base CPE (aligned; x * sigmoid not fused here)", 192, 320, 352, 3, 1, "sigmoid", False),
    ("classic SS2D", 180, 320, 360, 3, 1, "silu", False),
    ("light SS2D", 180, 320, 120, 3, 1, "silu", False),
    ("v2 light gate", 192, 320, 96, 5, 1, "none", False),
    ("light CAB dilated", 180, 320, 60, 3, 2, "none", False),
    ("DN SS2D 1280x720", 720, 1280, 360, 3, 1, "silu", False),
]
# (rows, runs per row, pixels per run, channels, warps). perf16-depthwise.txt also has the kernel before
# runs of pixels (commit 5c5f7cb), whose blocks were (rows, pixels per row, channels, warps).
CONFIGS = [(2, 8, 4, 128, 8), (1, 16, 4, 128, 8), (4, 4, 4, 128, 8), (2, 8, 2, 128, 8), (2, 4, 8, 128, 8),
           (2, 8, 4, 128, 4), (2, 8, 4, 64, 4), (4, 4, 4, 64, 4), (1, 16, 4, 64, 4), (2, 8, 2, 64, 4),
           (1, 16, 4, 32, 2), (2, 16, 4, 32, 4), (4, 8, 4, 32, 4), (1, 16, 8, 32, 2), (2, 8, 4, 32, 2)]
ACT = {"none": lambda t: t, "gelu": F.gelu, "silu": F.silu, "sigmoid": torch.sigmoid}


def time_case(name, h, w, c, k, dil, act, residual) -> None:
    pad = dil * (k - 1) // 2
    x = torch.randn(1, h * w, c, device="cuda", dtype=torch.bfloat16)
    weight = (torch.randn(c, 1, k, k, device="cuda") / k).to(torch.bfloat16)
    bias = (torch.randn(c, device="cuda") * 0.1).to(torch.bfloat16)

    def cudnn(t=x, wt=weight, bs=bias):
        y = ACT[act](_conv2d_tokens(t, wt, bs, h, w, pad, dil, c))
        return t + y if residual else y

    ref32 = cudnn(x.float(), weight.float(), bias.float())
    mb = 2 * x.numel() * 2 / 1e6
    rows = [(f"cuDNN conv alone, no bias (memory {mb:.0f} MB: {mb / 3e3 * 1e3:.0f} us at 3 TB/s)",
             cuda_graph_us(lambda: _conv2d_tokens(x, weight, None, h, w, pad, dil, c)), None),
            ("cuDNN conv + epilogue kernels", cuda_graph_us(cudnn), (cudnn().float() - ref32).norm() / ref32.norm())]
    taps = tap_table(weight)
    for block in CONFIGS:
        if block[-2] > c:
            continue

        def run(block=block):
            return depthwise_conv_triton(x, taps, bias, h, w, padding=pad, dilation=dil, activation=act,
                                         combine="add" if residual else "none", block=block)

        err = (run().float() - ref32).norm() / ref32.norm()
        label = "runs: rows {} runs {} of {} pixels, channels {} warps {}".format(*block)
        rows.append((label, cuda_graph_us(run), err))
    for label, us, err in rows:
        rel = "" if err is None else f"rel {err:.1e}"
        print(f"| {name} {h}x{w} C{c} k{k} d{dil} {act}{' +x' if residual else ''} | {label} | {us:.0f} us | {rel} |",
              flush=True)


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, cuDNN {torch.backends.cudnn.version()}")
    for case in CASES:
        time_case(*case)


if __name__ == "__main__":
    main()

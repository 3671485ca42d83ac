"""The depthwise kernel's program order: channel blocks of one tile of pixels next to each other in launch
order (``channels_inner``) against every tile of one channel block first, at the catalog models' shapes
and under several block shapes; a copy of the same bytes as the memory-bound yardstick. bf16, GPU time
from CUDA graphs, the two orders interleaved per shape.

    python tools/jobs/depthwise_order_ab.py
"""

from __future__ import annotations

import functools

import torch

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.depthwise_conv import depthwise_conv_tokens_reference, tap_table
from restore_cli.ops.depthwise_conv.triton import depthwise_conv_triton, launch_config

# (name, height, width, channels, row stride (0: contiguous), k, activation, residual)
CASES = [
    ("colour DN SS2D (in_proj split)", 720, 1280, 216, 0, 3, "silu", False),
    ("colour DN SS2D, chunk of in_proj", 720, 1280, 216, 432, 3, "silu", False),
    ("classic SS2D 720p, chunk of in_proj", 180, 320, 360, 720, 3, "silu", False),
    ("classic SS2D 4K whole, chunk", 540, 960, 360, 720, 3, "silu", False),
    ("classic SS2D 4K tile 270", 270, 270, 360, 720, 3, "silu", False),
    ("light SS2D 720p, chunk", 180, 320, 120, 240, 3, "silu", False),
    ("light SS2D 4K, chunk", 540, 960, 120, 240, 3, "silu", False),
    ("v2 Base ConvFFN 720p", 192, 320, 352, 0, 5, "gelu", True),
    ("v2 light gate 720p", 192, 320, 96, 0, 5, "none", False),
]
CONFIGS = [None, (2, 8, 4, 32, 2), (2, 8, 4, 64, 4), (2, 4, 8, 128, 8), (4, 8, 4, 32, 4), (2, 16, 4, 32, 4),
           (1, 16, 4, 64, 4)]


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    torch.manual_seed(0)
    for name, h, w, c, stride, k, act, residual in CASES:
        width = stride or c
        rows = torch.randn(1, h * w, width, device="cuda", dtype=torch.bfloat16)
        x = rows[..., :c]
        weight = torch.randn(c, 1, k, k, device="cuda") / k
        bias = torch.randn(c, device="cuda") * 0.1
        taps = tap_table(weight)
        combine = "add" if residual else "none"
        ref = depthwise_conv_tokens_reference(x.float(), weight, bias, (h, w), padding=k // 2, activation=act,
                                              combine=combine)
        dense = x.contiguous()
        copy_us = cuda_graph_us(lambda dense=dense: dense.clone())
        print(f"\n{name} {h}x{w} C{c} row {width} k{k}: copy of the tokens {copy_us:.1f} us")
        print("| block (rows, runs, run, channels, warps) | tiles first | channels inner | rel L2 |")
        print("|---|---|---|---|")
        for block in CONFIGS:
            if block is not None and block[3] > c:
                continue
            times = {False: [], True: []}
            for _ in range(3):
                for inner in (False, True):
                    run = functools.partial(depthwise_conv_triton, x, taps, bias, h, w, padding=k // 2,
                                            activation=act, combine=combine, block=block, channels_inner=inner)
                    times[inner].append(cuda_graph_us(run))
            out = depthwise_conv_triton(x, taps, bias, h, w, padding=k // 2, activation=act, combine=combine,
                                        block=block, channels_inner=True)
            err = ((out.float() - ref).norm() / ref.norm()).item()
            label = f"{block or launch_config(c)}{'' if block else ' (default)'}"
            print(f"| {label} | {sorted(times[False])[1]:.1f} us | {sorted(times[True])[1]:.1f} us | {err:.1e} |",
                  flush=True)


if __name__ == "__main__":
    main()

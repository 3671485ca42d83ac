"""The MambaIR blocks' convolutions at 180x320 (bf16, channels_last, H100): cuDNN's heuristic choice, its
autotuned choice (``cudnn.benchmark``), channel counts padded to a multiple of 8, and, for depthwise convs,
a compiled stencil (:func:`restore_cli.archs.layers.depthwise_conv_stencil`: Inductor makes it one
elementwise kernel). Each conv with its bias, as the models run it.

    python tools/jobs/conv_ab.py
"""

from __future__ import annotations

import torch
from torch import nn

from restore_cli.archs.layers import depthwise_conv_stencil
from restore_cli.bench import cuda_graph_us

HEIGHT, WIDTH = 180, 320


def image(channels: int) -> torch.Tensor:
    x = torch.randn(1, channels, HEIGHT, WIDTH, device="cuda", dtype=torch.bfloat16)
    return x.contiguous(memory_format=torch.channels_last)


def timed_conv(conv: nn.Conv2d, x: torch.Tensor) -> tuple[float, float]:
    """(heuristic, autotuned) GPU us of ``conv(x)``."""
    times = []
    for bench in (False, True):
        torch.backends.cudnn.benchmark = bench
        times.append(cuda_graph_us(lambda: conv(x)))
    torch.backends.cudnn.benchmark = False
    return times[0], times[1]


def main() -> None:
    bf16 = dict(device="cuda", dtype=torch.bfloat16)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, cuDNN {torch.backends.cudnn.version()}")
    print("| dense conv | heuristic | autotuned |")
    for cin, cout, k in [(180, 60, 3), (60, 180, 3), (184, 64, 3), (64, 184, 3), (180, 64, 3), (64, 180, 3),
                         (180, 180, 3), (60, 30, 1), (30, 60, 1)]:
        conv = nn.Conv2d(cin, cout, k, padding=k // 2).to(**bf16).to(memory_format=torch.channels_last)
        plain, tuned = timed_conv(conv, image(cin))
        print(f"| {cin}->{cout} {k}x{k} | {plain:.0f} us | {tuned:.0f} us |")
    print("| depthwise conv | heuristic | autotuned | compiled stencil | stencil max abs diff |")
    for channels, k, dil in [(30, 3, 1), (60, 3, 2), (120, 3, 1), (360, 3, 1), (348, 5, 1), (96, 5, 1)]:
        conv = nn.Conv2d(channels, channels, k, padding=dil * (k // 2), dilation=dil, groups=channels).to(**bf16)
        conv = conv.to(memory_format=torch.channels_last)
        x = image(channels)
        plain, tuned = timed_conv(conv, x)
        stencil = torch.compile(lambda t: depthwise_conv_stencil(t, conv))  # noqa: B023
        diff = (stencil(x).float() - conv(x).float()).abs().max().item()
        ms = cuda_graph_us(lambda: stencil(x))  # noqa: B023
        print(f"| {channels} ch {k}x{k} dilation {dil} | {plain:.0f} us | {tuned:.0f} us | {ms:.0f} us | {diff:.1e} |")


if __name__ == "__main__":
    main()

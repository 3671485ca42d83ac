"""MambaIR classic's upsampling head on channels-last tensors (as the head runs them under CUDA autocast
since round 18): ``nn.PixelShuffle`` against the same shuffle written as one permute of the channels-last
storage, so that the next conv gets a channels-last input without a layout conversion. GPU time of the
whole pixelshuffle head (conv 180 -> 64 + LeakyReLU, two x2 steps of conv 64 -> 256 + shuffle, conv 64 -> 3)
from CUDA graphs, interleaved medians; outputs must agree.

    python tools/jobs/pixel_shuffle_layout_ab.py
"""

from __future__ import annotations

import statistics

import torch
import torch.nn.functional as F

from restore_cli.bench import cuda_graph_us, seeded_model


def shuffle_channels_last(x: torch.Tensor, r: int) -> torch.Tensor:
    """F.pixel_shuffle(x, r) for a channels-last x, returned channels-last: the storage (B, H, W, C, r, r)
    permuted to (B, H, r, W, r, C) in one copy."""
    b, c, h, w = x.shape
    out_c = c // (r * r)
    stored = x.permute(0, 2, 3, 1).reshape(b, h, w, out_c, r, r)
    moved = stored.permute(0, 1, 4, 2, 5, 3).reshape(b, h * r, w * r, out_c)
    return moved.permute(0, 3, 1, 2)


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    net = seeded_model("mambair-sr-x4", torch.device("cuda"))
    res = torch.randn(1, 180, 180, 320, device="cuda").contiguous(memory_format=torch.channels_last)
    convs = [m for m in net.upsample if isinstance(m, torch.nn.Conv2d)]

    def head(custom: bool) -> torch.Tensor:
        x = net.conv_before_upsample(res)
        for conv in convs:
            x = conv(x)
            x = shuffle_channels_last(x, 2) if custom else F.pixel_shuffle(x, 2)
        return net.conv_last(x)

    with torch.inference_mode():
        want, got = head(False), head(True)
        print(f"channels-last output: pixel_shuffle {want.is_contiguous(memory_format=torch.channels_last)}, "
              f"permute {got.is_contiguous(memory_format=torch.channels_last)}; "
              f"max abs difference {(want - got).abs().max().item():.1e}")
        times = {False: [], True: []}
        for _ in range(5):
            for custom in times:
                times[custom].append(cuda_graph_us(lambda c=custom: head(c), calls=3))
    print("| head (180x320 in, x4) | nn.PixelShuffle | channels-last permute |\n|---|---|---|")
    print(f"| MambaIR classic | {statistics.median(times[False]):.0f} us | {statistics.median(times[True]):.0f} us |")


if __name__ == "__main__":
    main()

"""The light models' image-space convolutions (float32 by design, TF32 allowed as in the bf16 mode): cuDNN
picked FFMA kernels on NCHW tensors for all three (0.29-0.34 ms per 720p forward, round 16). The same
convolutions on channels-last tensors, where cuDNN has TF32 tensor-core kernels; GPU time from CUDA
graphs, and the difference to float32 (TF32 off).

    python tools/jobs/image_conv_layout_ab.py
"""

from __future__ import annotations

import torch
from torch import nn

from restore_cli.bench import cuda_graph_us


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print("| conv, 192x320 | NCHW | channels-last | rel vs float32 (NCHW / channels-last) |\n|---|---|---|---|")
    torch.backends.cudnn.allow_tf32 = True
    for label, cin, cout in [("conv_first 3 -> 48 (v2 light)", 3, 48), ("conv_after_body 48 -> 48", 48, 48),
                             ("upsample 48 -> 48 (x4, 3 colours)", 48, 48), ("conv_first 3 -> 60 (light)", 3, 60),
                             ("conv_after_body 60 -> 60", 60, 60), ("upsample 60 -> 48", 60, 48)]:
        conv = nn.Conv2d(cin, cout, 3, 1, 1).cuda().requires_grad_(False)
        x = torch.randn(1, cin, 192, 320, device="cuda")
        with torch.backends.cudnn.flags(allow_tf32=False):
            exact = conv(x)
        rows = []
        for fmt in (torch.contiguous_format, torch.channels_last):
            xf, cf = x.contiguous(memory_format=fmt), conv.to(memory_format=fmt)
            out = cf(xf)
            rows.append((cuda_graph_us(lambda c=cf, t=xf: c(t)), ((out - exact).norm() / exact.norm()).item()))
        print(f"| {label} | {rows[0][0]:.1f} us | {rows[1][0]:.1f} us | {rows[0][1]:.1e} / {rows[1][1]:.1e} |",
              flush=True)


if __name__ == "__main__":
    main()

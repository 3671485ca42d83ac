"""GEMMs and 3x3 convolutions of the MambaIR blocks at 180x320 (bf16, H100), as is against channel counts
padded to a multiple of 8: rows of 180 or 174 bf16 values are not 16-byte aligned, and cuBLAS/cuDNN then
pick slower kernels. The last GEMM column also slices the padded output back and copies it (what padding
costs when the consumer needs a contiguous tensor).

    python tools/jobs/gemm_alignment_ab.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from restore_cli.bench import cuda_median_ms

TOKENS = 180 * 320


def padded(n: int) -> int:
    return -(-n // 8) * 8


def zero_padded(t: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    out = torch.zeros(shape, device=t.device, dtype=t.dtype)
    out[tuple(slice(0, s) for s in t.shape)] = t
    return out


def main() -> None:
    bf16 = dict(device="cuda", dtype=torch.bfloat16)
    print(f"| GEMM (M={TOKENS}, bf16) | K x N | as is | K, N padded to x8 | padded, output sliced |")
    for name, k, n in [("classic in_proj", 180, 720), ("classic out_proj", 360, 180),
                       ("classic x_proj 4 routes", 360, 176), ("v2 qkv", 174, 522), ("v2 attn proj", 174, 174),
                       ("v2 mlp fc1", 174, 348), ("v2 mlp fc2", 348, 174), ("v2 in_proj", 174, 348),
                       ("v2 out_proj", 348, 174), ("light in_proj", 60, 240), ("light out_proj", 120, 60)]:
        x, w = torch.randn(TOKENS, k, **bf16), torch.randn(n, k, **bf16)
        xp, wp = zero_padded(x, (TOKENS, padded(k))), zero_padded(w, (padded(n), padded(k)))
        times = [cuda_median_ms(lambda: F.linear(x, w)), cuda_median_ms(lambda: F.linear(xp, wp)),  # noqa: B023
                 cuda_median_ms(lambda: F.linear(xp, wp)[:, :n].contiguous())]  # noqa: B023
        ideal = 2 * TOKENS * k * n / 700e12 * 1e6
        print(f"| {name} | {k}x{n} | " + " | ".join(f"{t * 1e3:.0f} us" for t in times) + f" | (ideal {ideal:.0f} us)")
    print("| conv 3x3 (180x320, bf16, channels_last) | as is | channels padded to x8 |")
    for cin, cout in [(180, 60), (60, 180), (180, 180), (174, 174)]:
        x = torch.randn(1, cin, 180, 320, **bf16).to(memory_format=torch.channels_last)
        w = torch.randn(cout, cin, 3, 3, **bf16)
        xp = zero_padded(x, (1, padded(cin), 180, 320)).to(memory_format=torch.channels_last)
        wp = zero_padded(w, (padded(cout), padded(cin), 3, 3))
        plain = cuda_median_ms(lambda: F.conv2d(x, w, padding=1))  # noqa: B023
        wide = cuda_median_ms(lambda: F.conv2d(xp, wp, padding=1))  # noqa: B023
        print(f"| {cin}->{cout} | {plain * 1e3:.0f} us | {wide * 1e3:.0f} us |")


if __name__ == "__main__":
    main()

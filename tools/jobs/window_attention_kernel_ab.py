"""MambaIRv2's shifted-window attention of one layer at 180x320 (canvas 192x320), bf16, H100: the
one-kernel path (:mod:`restore_cli.ops.window_attention`) under launch settings (query and key block
sizes, warps), against the official
computation (roll, windows, scores, softmax, inverse) run eagerly and compiled. GPU time from CUDA graphs.

    python tools/jobs/window_attention_kernel_ab.py
"""

from __future__ import annotations

import torch

from restore_cli.archs.windows import relative_position_index
from restore_cli.bench import cuda_graph_us
from restore_cli.ops.window_attention import attention_bias, window_attention_reference
from restore_cli.ops.window_attention.triton import window_attention_triton

# (block_m, block_n, warps); block_n 256 = the whole row of scores at once (the kernel before key blocks)
CONFIGS = [(64, 256, 4), (128, 256, 8), (64, 64, 4), (64, 32, 4), (64, 128, 4), (64, 64, 8), (128, 64, 8),
           (128, 32, 8), (128, 64, 4), (32, 64, 4)]


def time_case(name: str, heads: int, head_dim: int, shift: int, ws: int = 16) -> None:
    qkv = torch.randn(1, 192, 320, 3 * heads * head_dim, device="cuda", dtype=torch.bfloat16)
    table = torch.randn((2 * ws - 1) ** 2, heads, device="cuda") * 0.5
    bias = attention_bias(table, relative_position_index(ws).cuda())
    args = dict(num_heads=heads, window_size=ws, shift=shift, scale=head_dim**-0.5)
    ref = window_attention_reference(qkv, bias, **args).float()
    compiled = torch.compile(lambda t: window_attention_reference(t, bias, **args))
    rows = [("official, eager", cuda_graph_us(lambda: window_attention_reference(qkv, bias, **args))),
            ("official, compiled", cuda_graph_us(lambda: compiled(qkv)))]
    for block_m, block_n, warps in CONFIGS:
        def run(m=block_m, bn=block_n, nw=warps):
            return window_attention_triton(qkv, bias, **args, block_m=m, block_n=bn, num_warps=nw)

        err = ((run().float() - ref).norm() / ref.norm()).item()
        rows.append((f"kernel block_m {block_m} block_n {block_n} warps {warps} (rel {err:.1e})", cuda_graph_us(run)))
    for label, us in rows:
        print(f"| {name} shift {shift} | {label} | {us:.0f} us |")


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for name, heads, head_dim in [("v2 Base", 6, 29), ("v2 light", 4, 12)]:
        for shift in (0, 8):
            time_case(name, heads, head_dim, shift)


if __name__ == "__main__":
    main()

"""MambaIRv2's shifted-window attention of one layer at 180x320 (canvas 192x320), bf16, H100: the
one-kernel path (:mod:`restore_cli.ops.window_attention`) under launch settings (query and key block
sizes, warps), against the official
computation (roll, windows, scores, softmax, inverse) run eagerly and compiled. GPU time from CUDA graphs.

    python tools/jobs/window_attention_kernel_ab.py [Base] [light]
"""

from __future__ import annotations

import sys

import torch

from restore_cli.archs.windows import relative_position_index
from restore_cli.bench import cuda_graph_us
from restore_cli.ops.window_attention import attention_bias, window_attention_reference
from restore_cli.ops.window_attention.triton import window_attention_triton

# (block_m, block_n, warps, stages, bias dtype); the default first
CONFIGS = [(64, 64, 4, None, None), (64, 64, 4, None, torch.float16), (64, 64, 4, 1, None), (64, 64, 4, 2, None),
           (64, 64, 4, 4, None), (64, 32, 4, None, torch.float16), (128, 64, 8, None, torch.float16),
           (64, 128, 4, None, torch.float16)]
# MambaIRv2 light (4 heads of 12 channels): little work per score, so fewer, wider programs may pay
LIGHT_CONFIGS = [(64, 64, 4, None, None), (128, 64, 4, None, None), (128, 64, 8, None, None), (64, 64, 2, None, None),
                 (32, 64, 2, None, None), (64, 128, 4, None, None), (128, 128, 8, None, None), (64, 32, 2, None, None),
                 (64, 64, 4, 2, torch.float16), (128, 64, 4, 2, torch.float16), (256, 64, 8, None, None),
                 (32, 128, 2, None, None)]


def time_case(name: str, heads: int, head_dim: int, shift: int, configs: list, ws: int = 16) -> None:
    qkv = torch.randn(1, 192, 320, 3 * heads * head_dim, device="cuda", dtype=torch.bfloat16)
    table = torch.randn((2 * ws - 1) ** 2, heads, device="cuda") * 0.5
    bias = attention_bias(table, relative_position_index(ws).cuda())
    args = dict(num_heads=heads, window_size=ws, shift=shift, scale=head_dim**-0.5)
    ref = window_attention_reference(qkv, bias, **args).float()
    ref32 = window_attention_reference(qkv.float(), bias.float(), **args)  # the same inputs, float32 maths
    compiled = torch.compile(lambda t: window_attention_reference(t, bias, **args))
    err32 = ((ref - ref32).norm() / ref32.norm()).item()
    eager_us = cuda_graph_us(lambda: window_attention_reference(qkv, bias, **args))
    rows = [(f"official, eager (rel {err32:.1e} vs float32)", eager_us),
            ("official, compiled", cuda_graph_us(lambda: compiled(qkv)))]
    for block_m, block_n, warps, stages, bias_dtype in configs:
        def run(m=block_m, bn=block_n, nw=warps, ns=stages, bd=bias_dtype):
            return window_attention_triton(qkv, bias, **args, block_m=m, block_n=bn, num_warps=nw, num_stages=ns,
                                           bias_dtype=bd)

        out = run().float()
        err, err32 = ((out - ref).norm() / ref.norm()).item(), ((out - ref32).norm() / ref32.norm()).item()
        label = f"kernel block_m {block_m} block_n {block_n} warps {warps} stages {stages} bias {bias_dtype}"
        rows.append((f"{label} (rel {err:.1e} vs bf16 official, {err32:.1e} vs float32)", cuda_graph_us(run)))
    for label, us in rows:
        print(f"| {name} shift {shift} | {label} | {us:.0f} us |")


def main(models: list[str]) -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for name, heads, head_dim, configs in [("v2 Base", 6, 29, CONFIGS), ("v2 light", 4, 12, LIGHT_CONFIGS)]:
        if models and name.split()[-1] not in models:
            continue
        for shift in (0, 8):
            time_case(name, heads, head_dim, shift, configs)


if __name__ == "__main__":
    main(sys.argv[1:])

"""The window-attention kernel against its previous version (``triton_previous.py``, rebuilt by
``perf18b.sh`` from ``wa18.patch``): a constant head width (vector loads of a head's channels), positions
rolled by compare-and-subtract instead of ``%``, and the shift mask only in the last row and column of
windows. Same scores and order of sums: the outputs must be equal. H100, bf16, one layer at 180x320
(canvas 192x320), GPU time from CUDA graphs, interleaved medians.

    python tools/jobs/window_attention_previous_ab.py
"""

from __future__ import annotations

import statistics

import torch

from restore_cli.archs.windows import relative_position_index
from restore_cli.bench import cuda_graph_us
from restore_cli.ops.window_attention import attention_bias
from restore_cli.ops.window_attention.triton import window_attention_triton


def main() -> None:
    from restore_cli.ops.window_attention.triton_previous import window_attention_triton as previous_triton

    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print("| case | previous | now | equal |\n|---|---|---|---|")
    for name, heads, head_dim in [("v2 light", 4, 12), ("v2 Base (aligned heads)", 6, 32), ("v2 Base", 6, 29)]:
        for shift in (0, 8):
            ws = 16
            qkv = torch.randn(1, 192, 320, 3 * heads * head_dim, device="cuda", dtype=torch.bfloat16)
            bias = attention_bias(torch.randn((2 * ws - 1) ** 2, heads, device="cuda") * 0.5,
                                  relative_position_index(ws).cuda())
            args = dict(num_heads=heads, window_size=ws, shift=shift, scale=head_dim**-0.5)
            now, before = window_attention_triton(qkv, bias, **args), previous_triton(qkv, bias, **args)
            times = {"previous": [], "now": []}
            for _ in range(5):
                times["previous"].append(cuda_graph_us(lambda: previous_triton(qkv, bias, **args)))  # noqa: B023
                times["now"].append(cuda_graph_us(lambda: window_attention_triton(qkv, bias, **args)))  # noqa: B023
            print(f"| {name}, shift {shift} | {statistics.median(times['previous']):.1f} us | "
                  f"{statistics.median(times['now']):.1f} us | {torch.equal(now, before)} |", flush=True)


if __name__ == "__main__":
    main()

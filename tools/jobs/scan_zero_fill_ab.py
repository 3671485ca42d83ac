"""MambaIR v1's four-route scan: its output zeroed by a fill kernel before the scan (as before round 20)
against zeroed by the chunk-end pass (``ZERO_Y``). GPU time from CUDA graphs, interleaved medians, bf16
operands as under autocast; the outputs must be equal (same adds in the same kernels).

    python tools/jobs/scan_zero_fill_ab.py
"""

from __future__ import annotations

import statistics

import torch

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan.triton import _run, selective_scan_cross_tokens_triton


def inputs(height: int, width: int, channels: int, seed: int = 0) -> tuple:
    gen = torch.Generator(device="cuda").manual_seed(seed)
    length, n = height * width, 16

    def randn(*size: int, scale: float = 1.0) -> torch.Tensor:
        return (torch.randn(*size, generator=gen, device="cuda") * scale).to(torch.bfloat16)

    tokens = randn(1, length, channels)
    delta = randn(1, length, 4 * channels, scale=0.5)
    A = -torch.rand(4 * channels, n, generator=gen, device="cuda") - 0.5
    proj = randn(1, length, 4, 40)  # B, C, rank and padding rows, as SS2D.forward_fused lays them out
    D = torch.randn(4 * channels, generator=gen, device="cuda")
    bias = torch.randn(4 * channels, generator=gen, device="cuda") * 0.1
    return tokens, delta, A, proj[..., :n], proj[..., n:2 * n], D, bias


def time_case(height: int, width: int, channels: int) -> tuple[float, float, float]:
    """Median GPU us of the fill-then-scan and the zeroing-pass scan, and their largest difference."""
    tokens, delta, A, B, C, D, bias = inputs(height, width, channels)
    out = torch.empty(1, height * width, channels, device="cuda")

    def with_fill() -> torch.Tensor:
        out.zero_()
        _run(tokens.transpose(1, 2), delta.transpose(1, 2), A, B.permute(0, 2, 3, 1), C.permute(0, 2, 3, 1), D,
             bias, True, None, out.transpose(1, 2), per_group=channels, width=width, block_d=None, n_chunks=None,
             num_warps=1)  # fmt: skip
        return out

    def fused() -> torch.Tensor:
        return selective_scan_cross_tokens_triton(tokens, delta, A, B, C, D, bias, True, width=width, out=out)

    with torch.inference_mode():
        want = with_fill().clone()
        got = fused().clone()
        times: dict[str, list[float]] = {"fill": [], "fused": []}
        for _ in range(7):
            times["fill"].append(cuda_graph_us(with_fill, calls=5))
            times["fused"].append(cuda_graph_us(fused, calls=5))
    return statistics.median(times["fill"]), statistics.median(times["fused"]), (want - got).abs().max().item()


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print("| four-route scan, bf16 | fill kernel, then scan | zeroed in the chunk-end pass | max abs diff |")
    print("|---|---|---|---|")
    for name, shape in {
        "MambaIR classic 180x320, E 360": (180, 320, 360),
        "MambaIR light 180x320, E 120": (180, 320, 120),
        "colour DN 720x1280, E 360": (720, 1280, 360),
    }.items():
        fill, fused, diff = time_case(*shape)
        print(f"| {name} | {fill:.0f} us | {fused:.0f} us | {diff:.1e} |")


if __name__ == "__main__":
    main()

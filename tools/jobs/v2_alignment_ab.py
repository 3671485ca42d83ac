"""MambaIRv2 Base's unaligned widths (174 channels, 348 hidden, 522 qkv) at 180x320, bf16, H100.

1. Token GEMMs alone, as cuBLAS gets them (row strides of 174/348/522 elements are not 16-byte multiples,
   so it runs its 2-element-aligned kernels) and with both widths padded to a multiple of 8.
2. One ConvFFN as the layer runs it (LayerNorm -> fc1 -> GELU -> depthwise 5x5 + GELU -> add -> fc2 ->
   residual), compiled: as now (the conv one opaque cuDNN operator), with the conv as an Inductor
   stencil, with the hidden width zero-padded to 352 and the input to 176, and both.
3. The ASSM's position conv (3x3 depthwise on 348 channels, sigmoid gate) likewise.

    python tools/jobs/v2_alignment_ab.py [--profile]
"""

from __future__ import annotations

import sys

import torch
import torch.nn.functional as F
from torch import nn

from restore_cli.archs.layers import conv_on_tokens, depthwise_conv_stencil
from restore_cli.bench import cuda_graph_us

HEIGHT, WIDTH = 180, 320
TOKENS = HEIGHT * WIDTH
BF16 = dict(device="cuda", dtype=torch.bfloat16)
PROFILE = "--profile" in sys.argv  # also each kernel's time in the ConvFFN variants


def pad8(n: int) -> int:
    return -(-n // 8) * 8


def gemms() -> None:
    print("| GEMM (tokens x K -> N) | as is | padded to x8 |")
    for k, n in [(174, 522), (174, 174), (174, 348), (348, 174), (348, 56), (22, 348), (174, 58)]:
        x = torch.randn(TOKENS, k, **BF16)
        w = torch.randn(n, k, **BF16)
        xp = F.pad(x, (0, pad8(k) - k))
        wp = F.pad(w, (0, pad8(k) - k, 0, pad8(n) - n))
        plain = cuda_graph_us(lambda: F.linear(x, w))  # noqa: B023
        padded = cuda_graph_us(lambda: F.linear(xp, wp))  # noqa: B023
        print(f"| {k} -> {n} | {plain:.0f} us | {padded:.0f} us |")


def kernel_times(fn, calls: int = 10) -> None:
    """Each kernel's GPU time in one call of ``fn`` (torch.profiler over ``calls`` calls)."""
    fn()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
    for e in sorted(prof.key_averages(), key=lambda e: -e.self_device_time_total):
        if e.self_device_time_total > 0:
            print(f"|   | {e.self_device_time_total / calls:.0f} us | {e.key[:90]} |")


def stencil_on_tokens(conv: nn.Conv2d, tokens: torch.Tensor) -> torch.Tensor:
    b, n, c = tokens.shape
    image = tokens.view(b, HEIGHT, WIDTH, c).permute(0, 3, 1, 2)
    return depthwise_conv_stencil(image, conv).permute(0, 2, 3, 1).reshape(b, n, c)


def convffn() -> None:
    dim, hidden = 174, 348
    dp, hp = pad8(dim), pad8(hidden)
    norm = nn.LayerNorm(dim).to(**BF16)
    fc1 = nn.Linear(dim, hidden).to(**BF16)
    dw = nn.Conv2d(hidden, hidden, 5, 1, 2, groups=hidden).to(**BF16)
    fc2 = nn.Linear(hidden, dim).to(**BF16)
    for m in (norm, fc1, dw, fc2):
        for p in m.parameters():
            p.requires_grad_(False)
            p.normal_(0, 0.05) if p.dim() > 1 else p.uniform_(-0.1, 0.1)
    dw_pad = nn.Conv2d(hp, hp, 5, 1, 2, groups=hp).to(**BF16).requires_grad_(False)
    dw_pad.weight.zero_()
    dw_pad.bias.zero_()
    dw_pad.weight[:hidden] = dw.weight
    dw_pad.bias[:hidden] = dw.bias
    w1 = F.pad(fc1.weight, (0, dp - dim, 0, hp - hidden))
    b1 = F.pad(fc1.bias, (0, hp - hidden))
    w2 = F.pad(fc2.weight, (0, hp - hidden, 0, dp - dim))
    b2 = F.pad(fc2.bias, (0, dp - dim))
    size = (HEIGHT, WIDTH)

    def now(x):
        h = F.gelu(fc1(norm(x)))
        return fc2(h + F.gelu(conv_on_tokens(dw, h, size))) + x

    def stencil(x):
        h = F.gelu(fc1(norm(x)))
        return fc2(h + F.gelu(stencil_on_tokens(dw, h))) + x

    def padded(x):
        h = F.gelu(F.linear(F.pad(norm(x), (0, dp - dim)), w1, b1))
        return F.linear(h + F.gelu(conv_on_tokens(dw_pad, h, size)), w2, b2)[..., :dim] + x

    def padded_stencil(x):
        h = F.gelu(F.linear(F.pad(norm(x), (0, dp - dim)), w1, b1))
        return F.linear(h + F.gelu(stencil_on_tokens(dw_pad, h)), w2, b2)[..., :dim] + x

    x = torch.randn(1, TOKENS, dim, **BF16)
    with torch.inference_mode():
        reference = now(x).float()
        print("| ConvFFN at 180x320 (compiled) | GPU us | max abs diff vs eager |")
        for name, fn in [("as now (cuDNN opaque)", now), ("stencil", stencil), ("padded 176/352", padded),
                         ("padded + stencil", padded_stencil)]:
            compiled = torch.compile(fn, dynamic=False)
            diff = (compiled(x).float() - reference).abs().max().item()
            print(f"| {name} | {cuda_graph_us(lambda: compiled(x)):.0f} | {diff:.1e} |")  # noqa: B023
            if PROFILE and "stencil" not in name:
                kernel_times(lambda: compiled(x))  # noqa: B023


def position_conv() -> None:
    hidden = 348
    cpe = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden).to(**BF16).requires_grad_(False)
    size = (HEIGHT, WIDTH)

    def now(v):
        return v * torch.sigmoid(conv_on_tokens(cpe, v, size))

    def stencil(v):
        return v * torch.sigmoid(stencil_on_tokens(cpe, v))

    v = torch.randn(1, TOKENS, hidden, **BF16)
    with torch.inference_mode():
        reference = now(v).float()
        print("| position conv + gate (compiled) | GPU us | max abs diff |")
        for name, fn in [("as now (cuDNN opaque)", now), ("stencil", stencil)]:
            compiled = torch.compile(fn, dynamic=False)
            diff = (compiled(v).float() - reference).abs().max().item()
            print(f"| {name} | {cuda_graph_us(lambda: compiled(v)):.0f} | {diff:.1e} |")  # noqa: B023


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, {HEIGHT}x{WIDTH} tokens, bf16")
    gemms()
    convffn()
    position_conv()


if __name__ == "__main__":
    main()

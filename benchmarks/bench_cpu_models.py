"""End to end on the CPU: our models with the chunked scan vs the same models with the per-step scan.

Three paths per model: the official computation with the per-step scan (what the official code runs on
a CPU), the same with the chunked scan, and the default (for MambaIR v1: the channel-last four-route
path, ``SS2D.forward_fused``, over the chunked scan).

    python benchmarks/bench_cpu_models.py [--repeats 3]

The official code can only run on a CPU with mamba-ssm's per-step reference scan; the sizes are the ones
quoted for it (MambaIR-light x4 on 64x64, classic MambaIR x4 on 48x48, MambaIRv2-light x4 on 64x64).
Weights are the architectures' own seeded initialisation; the input is a real photo crop.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from skimage import data

from restore_cli.archs import configure_scan, from_official
from restore_cli.cards import find_card

CASES = (("MambaIR light x4", "mambair-light-x4", 64), ("MambaIR classic x4", "mambair-sr-x4", 48),
         ("MambaIRv2 light x4", "mambairv2-light-x4", 64))
# --compile also times the bundled deraining/deblurring LAformers (no scan, convolution-heavy)
COMPILE_CASES = (*CASES, ("LAformer deblur (bundled size)", "restore-deblur-laformer", 128),
                 ("LAformer derain (bundled size)", "restore-derain-laformer", 128))


def timed(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    times = []
    with torch.inference_mode():
        for _ in range(repeats):
            start = time.perf_counter()
            out = model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times), out


def photo(size: int) -> torch.Tensor:
    """A real photo crop, (1, 3, size, size) in [0, 1]."""
    img = data.astronaut()[100 : 100 + size, 180 : 180 + size].astype(np.float32) / 255
    return torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()


def compare_compile(repeats: int) -> None:
    """Default path eager vs ``--compile`` (regional torch.compile of the block class) on the CPU."""
    from restore_cli.engine.compile import compile_blocks

    print("| model | input | eager | `--compile` | change | first compiled call | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    for label, card_id, size in COMPILE_CASES:
        card = find_card(card_id)
        torch.manual_seed(0)
        model = from_official(card.arch_class, card.kwargs_dict()).eval()
        x = photo(size)
        timed(model, x, 1)  # warm-up
        eager, ref = timed(model, x, repeats)
        compile_blocks(model)
        first, _ = timed(model, x, 1)
        compiled, out = timed(model, x, repeats)
        print(f"| {label} | {size}x{size} | {eager:.2f} s | {compiled:.2f} s | {compiled / eager - 1:+.0%} | "
              f"{first:.0f} s | {(out - ref).abs().max().item():.1e} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true",
                        help="instead: the default path eager vs compiled (`--compile`), SR models and LAformers")
    args = parser.parse_args()
    if args.compile:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeats}\n")
        compare_compile(args.repeats)
        return 0
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeats} "
          "(the per-step path once)\n")
    print("| model | input | per-step scan | chunked scan, route copies | default path | speed-up | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    for label, card_id, size in CASES:
        card = find_card(card_id)
        torch.manual_seed(0)
        model = from_official(card.arch_class, card.kwargs_dict())
        x = photo(size)
        configure_scan(model, backend="reference")
        slow, ref = timed(model, x, 1)
        configure_scan(model, backend="torch", fused_cross_scan=False)
        copies, _ = timed(model, x, args.repeats)
        configure_scan(model, backend="torch", fused_cross_scan=True)
        fast, out = timed(model, x, args.repeats)
        print(f"| {label} | {size}x{size} | {slow:.2f} s | {copies:.2f} s | {fast:.2f} s | {slow / fast:.1f}x | "
              f"{(out - ref).abs().max().item():.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the GPU time of one catalog architecture goes: the top kernels of one forward pass.

    python benchmarks/profile_model.py mambair-sr-x4 180 320 --path bf16
    python benchmarks/profile_model.py mambair-sr-x4 180 320 --path reference --top 30

Paths as in ``restore bench`` (restore_cli/bench.py): ``reference`` (official computation pattern),
``fused-fp32`` and ``bf16`` (the default CUDA path, under bf16 autocast). Prints the median wall time of
a few runs, then the kernels sorted by their own GPU time, with each one's share of the total.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import PATHS, photo_input, seeded_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("card")
    parser.add_argument("height", type=int)
    parser.add_argument("width", type=int)
    parser.add_argument("--path", choices=PATHS, default="bf16")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--official-widths", action="store_true",
                        help="keep MambaIRv2's official widths on the fast paths (the engine zero-pads them to "
                             "multiples of 8 on CUDA, as here by default; the reference path keeps them)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to profile")
        return 0
    dev = torch.device("cuda")
    net = seeded_model(args.card, dev)
    configure_scan(net, backend="triton", fused_cross_scan=args.path != "reference")
    align = getattr(net, "align_channels", None)
    if callable(align) and args.path != "reference" and not args.official_widths:
        print(f"aligned widths: {align()}")
    if "bf16" in args.path and getattr(net, "matmuls_under_autocast", False):  # as the engine does
        from restore_cli.engine.model import store_matmul_weights_in

        store_matmul_weights_in(net, torch.bfloat16)
    from restore_cli.archs.layers import fold_inference_weights

    fold_inference_weights(net)  # as the engine does, after the casts
    if "compile" in args.path:
        from restore_cli.engine.compile import compile_blocks

        compile_blocks(net)
    x = photo_input(args.height, args.width, dev)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled="bf16" in args.path)

    def run() -> torch.Tensor:
        with torch.inference_mode(), autocast:
            return net(x)

    for _ in range(2):
        run()
    times = []
    for _ in range(5):
        torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    print(f"{args.card} {args.height}x{args.width} {args.path}: median {statistics.median(times):.1f} ms, "
          f"peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        run()
        torch.cuda.synchronize()
    events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
    total = sum(e.self_device_time_total for e in events)
    print(f"GPU kernel time {total / 1e3:.1f} ms")
    print(f"{'share':>6} {'ms':>8} {'calls':>6}  kernel")
    for e in sorted(events, key=lambda e: -e.self_device_time_total)[: args.top]:
        print(f"{100 * e.self_device_time_total / total:5.1f}% {e.self_device_time_total / 1e3:8.2f} "
              f"{e.count:6d}  {e.key[:110]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

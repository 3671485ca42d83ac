"""What is live on the GPU at the peak of one benchmark case (GPU).

Colour DN on a whole 1280x720 image peaks at 5.8 GiB in bf16 + ``--compile`` against the issue's 4 GiB.
This wraps the network as ``restore_cli.bench.run_benchmark`` does (without CUDA graphs, whose pool would
hide the call's allocations), runs it twice to warm up, records the
CUDA allocator's history over a third call, replays the history to the moment the allocated bytes peak
and prints the blocks live then, largest first, with the innermost Python frames that allocated them.

    python tools/jobs/peak_breakdown.py --card mambair-dn-color-s25 --size 720x1280 --path bf16+compile
"""

from __future__ import annotations

import argparse

import torch

from restore_cli.bench import photo_input, seeded_model


def live_at_peak(snapshot: dict) -> tuple[int, list[dict]]:
    """Replay the allocator's trace: the bytes allocated at its peak and the blocks live then."""
    live: dict[int, dict] = {}
    total = peak = 0
    at_peak: list[dict] = []
    for event in (e for trace in snapshot["device_traces"] for e in trace):
        if event["action"] == "alloc":
            live[event["addr"]] = event
            total += event["size"]
            if total > peak:
                peak, at_peak = total, list(live.values())
        elif event["action"] in ("free_requested", "free_completed") and event["addr"] in live:
            total -= live.pop(event["addr"])["size"]
    return peak, sorted(at_peak, key=lambda e: -e["size"])


def main() -> None:
    from restore_cli.archs import configure_scan
    from restore_cli.engine.model import wrap_module
    from restore_cli.engine.run import restore_tensor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--card", default="mambair-dn-color-s25")
    parser.add_argument("--size", default="720x1280", help="HxW of the input")
    parser.add_argument("--path", default="bf16+compile", help="bf16, bf16+compile, fp32, ...")
    parser.add_argument("--graphs", action="store_true", help="with CUDA graphs, traced from the first call (a "
                        "replay allocates nothing), as the benchmark measures its peak")
    parser.add_argument("--tile", type=int, default=0, help="0: the whole image, as the benchmark's case")
    args = parser.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    dev = torch.device("cuda")
    net = seeded_model(args.card, dev)
    configure_scan(net, backend="triton", fused_cross_scan=True)
    model = wrap_module(net, arch=args.card, device=dev, precision="bf16" if "bf16" in args.path else "fp32",
                        cuda_graphs=args.graphs, compile="compile" in args.path)
    x = photo_input(h, w, torch.device("cpu"))

    def call() -> torch.Tensor:
        return restore_tensor(model, x, tile=args.tile, overlap=16, batch_size=1)

    if not args.graphs:  # warm up, then trace one call
        call()
        call()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(dev)
    base = torch.cuda.memory_allocated(dev)
    torch.cuda.memory._record_memory_history(max_entries=1_000_000, stacks="python")
    for _ in range(3 if args.graphs else 1):  # with graphs: from the first call, as the benchmark's peak is
        call()
    torch.cuda.synchronize()
    snapshot = torch.cuda.memory._snapshot()
    torch.cuda.memory._record_memory_history(enabled=None)
    peak_stat = torch.cuda.max_memory_allocated(dev)
    peak, blocks = live_at_peak(snapshot)
    print(f"{args.card} {args.size} {args.path}: max_memory_allocated {peak_stat / 2**30:.2f} GiB, allocated "
          f"before the call {base / 2**30:.2f} GiB, traced peak {peak / 2**30:.2f} GiB over it, "
          f"{len(blocks)} blocks live then")
    for block in blocks[:25]:
        if block["size"] < 2**24:
            break
        frames = [f"{f['filename'].split('/')[-1]}:{f['line']} {f['name']}" for f in block["frames"]
                  if "restore_cli" in f["filename"] or "torchinductor" in f["filename"]
                  or "/tmp/" in f["filename"]][:4]
        print(f"{block['size'] / 2**20:9.1f} MiB  " + " <- ".join(frames))


if __name__ == "__main__":
    main()

"""What the MambaIRv2 reference 4K benchmark cell allocates after the earlier tiled cases (GPU).

The tenth session's ``bench_models.py --match tiles --paths reference,bf16,bf16+compile`` printed a
32.8 GiB peak for that one cell, while the same call alone peaks at 3.82 GiB. This runs the same
sequence, records the CUDA allocator's history during the cell, and prints the largest allocations
with the Python frames that made them. Run by tools/jobs/perf11a.sh.
"""

from __future__ import annotations

import torch

from restore_cli.bench import DEFAULT_CASES, run_benchmark


def main() -> None:
    # The benchmark ran with cuDNN's autotuner on then; it leaves it off now, as the CLI does.
    torch.backends.cudnn.benchmark = True

    tiled = [c for c in DEFAULT_CASES if c.tile]
    before, target = tiled[:-1], tiled[-1]
    print("target:", target.label)
    run_benchmark(before, paths=("reference", "bf16", "bf16+compile"))
    torch.cuda.memory._record_memory_history(max_entries=200_000, stacks="python")
    run_benchmark([target], paths=("reference",))
    snapshot = torch.cuda.memory._snapshot()
    torch.cuda.memory._record_memory_history(enabled=None)
    stats = torch.cuda.memory_stats()
    print(
        f"peak allocated {stats['allocated_bytes.all.peak'] / 2**30:.2f} GiB, "
        f"reserved {stats['reserved_bytes.all.peak'] / 2**30:.2f} GiB"
    )
    events = [e for trace in snapshot["device_traces"] for e in trace]
    big = sorted(
        (e for e in events if e["action"] in ("alloc", "segment_alloc") and e["size"] >= 2**29),
        key=lambda e: -e["size"],
    )
    print(f"{len(events)} events; {len(big)} allocations of 512 MiB or more")
    seen = set()
    for e in big[:40]:
        frames = [
            f"{f['filename'].split('site-packages/')[-1]}:{f['line']} {f['name']}"
            for f in e["frames"]
            if "restore_cli" in f["filename"] or "torch/nn" in f["filename"] or "torch/_" in f["filename"]
        ][:6]
        key = (e["action"], e["size"], tuple(frames))
        if key in seen:
            continue
        seen.add(key)
        print(f"{e['action']:14s} {e['size'] / 2**30:7.2f} GiB")
        for f in frames:
            print("     ", f)


if __name__ == "__main__":
    main()

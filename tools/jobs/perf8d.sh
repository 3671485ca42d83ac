#!/usr/bin/env bash
# GPU issue, round 8D (2026-11-23, eighth session): 8C's Nsight Compute run showed the output pass at 16
# warps/SM (registers) with float32 B/C staged, against 28 for the chunk-end pass. A/B of staging and
# prefetch, interleaved (single timings here move by ~10% from run to run), then MambaIR classic 4K.
#   bash tools/jobs/perf8d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python - <<'PY' 2>&1 | tee "$out/ab.txt"
import statistics, torch
from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton as scan
def inputs(e, dtype):
    g = torch.Generator().manual_seed(0); n, h, w = 16, 180, 320
    t = torch.randn(1, h * w, e, generator=g).to(dtype).cuda()
    d = (torch.randn(1, h * w, 4 * e, generator=g) * 0.5 - 2).to(dtype).cuda()
    p = torch.randn(1, h * w, 4, 48, generator=g).to(dtype).cuda()
    A = -torch.arange(1, n + 1, dtype=torch.float32).repeat(4 * e, 1).cuda()
    return (t, d, A, p[..., :n], p[..., n:2 * n], torch.ones(4 * e).cuda(), None, True), w
configs = [(s, p, w) for s in (True, False) for p in (0, 1, 2) for w in (1, 2)]
for e, dtype in ((360, torch.bfloat16), (120, torch.bfloat16), (360, torch.float32)):
    args, width = inputs(e, dtype)
    times = {c: [] for c in configs}
    for c in configs:
        scan(*args, width=width, stage_bc_float32=c[0], prefetch=c[1], num_warps=c[2])
    for _ in range(7):
        for c in configs:
            s0, s1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s0.record()
            for _ in range(3):
                scan(*args, width=width, stage_bc_float32=c[0], prefetch=c[1], num_warps=c[2])
            s1.record(); torch.cuda.synchronize(); times[c].append(s0.elapsed_time(s1) / 3)
    for c in configs:
        print(f"E{e} {str(dtype)[6:]:<9} stage={c[0]!s:<5} prefetch={c[1]} warps={c[2]}  median {statistics.median(times[c]):.3f} ms")
PY
timeout 300 python benchmarks/bench_models.py --match "MambaIR classic SR x4, 4K" --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_4k.txt" | tail -5

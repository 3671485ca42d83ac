#!/usr/bin/env bash
# GPU issue, round 8F (2026-11-23, eighth session): time chunks of the final kernel, interleaved A/B
# (MambaIR classic E=360 and light E=120 at 180x320, bf16), to check the default chunk count.
#   bash tools/jobs/perf8f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD
mkdir -p "$out"
timeout 200 python - <<'PY' 2>&1 | tee "$out/chunks.txt"
import statistics, torch
from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton as scan
def inputs(e, dtype):
    g = torch.Generator().manual_seed(0); n, h, w = 16, 180, 320
    t = torch.randn(1, h * w, e, generator=g).to(dtype).cuda()
    d = (torch.randn(1, h * w, 4 * e, generator=g) * 0.5 - 2).to(dtype).cuda()
    p = torch.randn(1, h * w, 4, 48, generator=g).to(dtype).cuda()
    A = -torch.arange(1, n + 1, dtype=torch.float32).repeat(4 * e, 1).cuda()
    return (t, d, A, p[..., :n], p[..., n:2 * n], torch.ones(4 * e).cuda(), None, True), w
configs = [(c, p) for c in (None, 64, 96, 192, 256, 384) for p in (0, 1)]
for e in (360, 120):
    args, width = inputs(e, torch.bfloat16)
    times = {c: [] for c in configs}
    for c in configs:
        scan(*args, width=width, n_chunks=c[0], prefetch=c[1])
    for _ in range(9):
        for c in configs:
            s0, s1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s0.record()
            for _ in range(3):
                scan(*args, width=width, n_chunks=c[0], prefetch=c[1])
            s1.record(); torch.cuda.synchronize(); times[c].append(s0.elapsed_time(s1) / 3)
    for c in configs:
        print(f"E{e} chunks={c[0]!s:<5} prefetch={c[1]}  median {statistics.median(times[c]):.3f} ms")
PY

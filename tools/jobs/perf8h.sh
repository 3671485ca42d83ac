#!/usr/bin/env bash
# GPU issue, round 8H (2026-11-23, eighth session): the walk's prefetch as two alternating register sets
# (prefetch=2, now the default: no hand-over copies that wait for the loads; offline sm_90 build 72
# registers in the output pass instead of 90). GPU tests, an interleaved A/B of prefetch 1 vs 2, then
# MambaIR v1 end to end.
#   bash tools/jobs/perf8h.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 100 python -m pytest -m "gpu and not slow" tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider \
  -k "cross or triton_matches" > "$out/test_scan_gpu.txt" 2>&1
tail -2 "$out/test_scan_gpu.txt"
timeout 90 python - <<'PY' 2>&1 | tee "$out/ab.txt"
import statistics, torch
from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton as scan
def inputs(e, dtype):
    g = torch.Generator().manual_seed(0); n, h, w = 16, 180, 320
    t = torch.randn(1, h * w, e, generator=g).to(dtype).cuda()
    d = (torch.randn(1, h * w, 4 * e, generator=g) * 0.5 - 2).to(dtype).cuda()
    p = torch.randn(1, h * w, 4, 48, generator=g).to(dtype).cuda()
    A = -torch.arange(1, n + 1, dtype=torch.float32).repeat(4 * e, 1).cuda()
    return (t, d, A, p[..., :n], p[..., n:2 * n], torch.ones(4 * e).cuda(), None, True), w
configs = [(p, c) for p in (1, 2) for c in (None, 256)]
for e, dtype in ((360, torch.bfloat16), (120, torch.bfloat16), (360, torch.float32)):
    args, width = inputs(e, dtype)
    ref = scan(*args, width=width, prefetch=1)
    times = {c: [] for c in configs}
    for c in configs:
        out = scan(*args, width=width, prefetch=c[0], n_chunks=c[1])
        assert ((out - ref).norm() / ref.norm()).item() < 1e-6, c
    for _ in range(9):
        for c in configs:
            s0, s1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s0.record()
            for _ in range(3):
                scan(*args, width=width, prefetch=c[0], n_chunks=c[1])
            s1.record(); torch.cuda.synchronize(); times[c].append(s0.elapsed_time(s1) / 3)
    for c in configs:
        print(f"E{e} {str(dtype)[6:]:<9} prefetch={c[0]} chunks={c[1]!s:<5} median {statistics.median(times[c]):.3f} ms")
PY
timeout 200 python benchmarks/bench_models.py --quick --match "MambaIR " --paths reference,bf16,bf16+compile \
  2>&1 | tee "$out/bench_v1.txt" | tail -10

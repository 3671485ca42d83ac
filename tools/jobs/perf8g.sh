#!/usr/bin/env bash
# GPU issue, round 8G (2026-11-23, eighth session): the block-parallel four-route scan
# (restore_cli/ops/scan/triton_block.py: T steps x C channels x N states per tile, tl.associative_scan
# over time) against the step-by-step walk. Correctness on the GPU, then an interleaved A/B over tile
# shapes and chunk counts (MambaIR classic E=360 and light E=120 at 180x320, bf16).
#   bash tools/jobs/perf8g.sh "$OUT"
# Result (tools/jobs/results/perf8g-block-scan.txt): correct (rel L2 2.7e-7) but slower than the walk at
# every tile shape (E=360: best 2.12 ms vs 1.64 ms; E=120: 0.81 vs 0.69 ms), so the kernel was removed
# after commit 43d183b; check that commit out to rerun this.
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD
mkdir -p "$out"
timeout 280 python - <<'PY' 2>&1 | tee "$out/block_ab.txt"
import statistics, torch
from restore_cli.ops.scan.cross import cross_selective_scan_tokens
from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton as walk
from restore_cli.ops.scan.triton_block import selective_scan_cross_tokens_block as block
def inputs(e, dtype, h=180, w=320, seed=0):
    g = torch.Generator().manual_seed(seed); n = 16
    t = torch.randn(1, h * w, e, generator=g).to(dtype).cuda()
    d = (torch.randn(1, h * w, 4 * e, generator=g) * 0.5 - 2).to(dtype).cuda()
    p = torch.randn(1, h * w, 4, 48, generator=g).to(dtype).cuda()
    A = -torch.exp(torch.randn(4 * e, n, generator=g) * 0.5).cuda()
    return (t, d, A, p[..., :n], p[..., n:2 * n], torch.randn(4 * e, generator=g).cuda(), None, True), w
# correctness: odd sizes, both dtypes, several tiles and chunk counts, against the walk and the reference
for dtype in (torch.float32, torch.bfloat16):
    args, w = inputs(40, dtype, h=23, w=37, seed=1)
    ref = cross_selective_scan_tokens(*args, height=23, width=37, backend="reference")
    for T, C, wp, ch in ((4, 16, 1, None), (8, 16, 1, 5), (4, 32, 1, 1), (8, 8, 2, 7), (2, 16, 1, 3)):
        got = block(*args, width=w, steps=T, block_c=C, num_warps=wp, n_chunks=ch)
        err = ((got - ref).norm() / ref.norm()).item()
        print(f"check {str(dtype)[6:]} T{T} C{C} w{wp} chunks {ch}: rel L2 {err:.2e}", "OK" if err < 2e-5 else "FAIL")
configs = [("walk", None)] + [(f"block T{T} C{C} w{wp} ch{ch}", (T, C, wp, ch))
           for T, C, wp in ((4, 16, 1), (8, 16, 1), (4, 32, 1), (2, 32, 1), (4, 16, 2), (8, 8, 1))
           for ch in (None, 48, 128)]
def call(cfg, args, w):
    if cfg is None:
        return walk(*args, width=w)
    T, C, wp, ch = cfg
    return block(*args, width=w, steps=T, block_c=C, num_warps=wp, n_chunks=ch)
for e in (360, 120):
    args, w = inputs(e, torch.bfloat16)
    ref = walk(*args, width=w)
    times = {name: [] for name, _ in configs}
    for name, cfg in configs:
        out = call(cfg, args, w)
        assert ((out - ref).norm() / ref.norm()).item() < 1e-5, name
    for _ in range(7):
        for name, cfg in configs:
            s0, s1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s0.record()
            for _ in range(3):
                call(cfg, args, w)
            s1.record(); torch.cuda.synchronize(); times[name].append(s0.elapsed_time(s1) / 3)
    for name, _ in configs:
        print(f"E{e} {name:<26} median {statistics.median(times[name]):.3f} ms")
PY

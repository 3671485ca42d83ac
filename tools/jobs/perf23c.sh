#!/usr/bin/env bash
# Twenty-third session, third device command: the scan's GPU tests for the half types after the fix
# (B/C as int32 pairs only when both are bf16), then MambaIRv2 Base at 720p and at 4K (tiles) and
# MambaIR classic at 720p, bf16 + compile against the reference pattern.
#   bash tools/jobs/perf23c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 280 python -m pytest -m gpu tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider -k "bfloat16 or float16 or state_count or two_channels" > "$out/scan-gpu-tests.txt" 2>&1
tail -3 "$out/scan-gpu-tests.txt"
timeout 280 python benchmarks/bench_models.py --match "MambaIRv2 Base SR x4|MambaIR classic SR x4, 720p" --paths reference,bf16+compile 2>&1 | tee "$out/bench.txt"

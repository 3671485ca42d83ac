#!/usr/bin/env bash
# GPU issue, round 14C (2026-11-24): the scan's GPU tests (two channels per thread for groups of 256+
# channels), then the benchmark rows that the change touches (MambaIR classic and MambaIRv2 Base at 720p
# and 4K), reference vs bf16 vs bf16 + compile.   bash tools/jobs/perf14c.sh "$OUT" [part]
set -u
out=${1:?OUT}
part=${2:-1}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
if [ "$part" = 1 ]; then
  timeout 330 python -m pytest -q -p no:cacheprovider tests/ops/test_scan_gpu.py 2>&1 | tail -3 | tee "$out/tests.txt"
  for match in "MambaIR classic" "MambaIRv2 Base"; do
    timeout 240 python benchmarks/bench_models.py --match "$match" --paths reference,bf16,bf16+compile --repeats 3
  done 2>&1 | grep -v Warn | grep "^|" | tee "$out/bench.txt"
else
  timeout 560 python benchmarks/bench_models.py --match "colour DN" --paths reference,bf16,bf16+compile --repeats 3 \
    2>&1 | grep -v Warn | grep "^|" | tee "$out/bench-dn.txt"
fi

#!/usr/bin/env bash
# Twenty-fifth session: the padding states (N 10 of 16, MambaIR light) zeroed so the compiler drops their work.
# GPU scan tests; the scan alone against HEAD's module (tools/jobs/_scan_prev.py); in the compiled light model;
# the light 720p benchmark row.
#   bash tools/jobs/perf25b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -x tests/ops/test_scan_gpu.py 2>&1 | tail -3 | tee "$out/tests.txt"
timeout 150 python tools/jobs/scan_softplus_ab.py 2>&1 | grep "^|\|torch" | tee "$out/scan-ab.txt"
timeout 150 python tools/jobs/scan_softplus_ab.py --swap 2>&1 | grep "^|" | tee -a "$out/scan-ab.txt"
timeout 200 python tools/jobs/scan_in_model_ab.py mambair-light-x4 180 320 2>&1 | grep -v "Warn\|warn\|^$\|originates\|File \|has_mamba" | tee "$out/in-model.txt"
timeout 200 python benchmarks/bench_models.py --quick --repeats 7 --match "MambaIR light" --paths bf16+compile 2>&1 | grep "^|" | tee "$out/bench.txt"

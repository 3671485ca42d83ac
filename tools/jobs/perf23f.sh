#!/usr/bin/env bash
# Twenty-third session, sixth device command: route lanes with one wave of programs (24 per SM) against
# HEAD (48 per SM): the scan in the compiled MambaIR light, and its 720p / 4K benchmark.
#   bash tools/jobs/perf23f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 100 python tools/jobs/scan_softplus_ab.py 2>&1 | tee "$out/scan-ab.txt"
timeout 150 python tools/jobs/scan_in_model_ab.py mambair-light-x4 180 320 2>&1 | tail -3 | tee "$out/light-in-model.txt"
timeout 200 python benchmarks/bench_models.py --match "MambaIR light SR x4" --paths reference,bf16+compile 2>&1 | tail -6 | tee "$out/bench.txt"

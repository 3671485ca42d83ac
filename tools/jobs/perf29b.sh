#!/usr/bin/env bash
# Twenty-ninth session: colour DN's eager peak after SS2D drops the scan's inputs before the gated norm
# (perf29a: before), MambaIR light compiled as a check, and the GPU parity tests.
#   bash tools/jobs/perf29b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 90 python tools/jobs/peak_breakdown.py --path bf16 2>&1 | tail -14 | tee "$out/peak-eager.txt"
timeout 80 python tools/jobs/delta_ab.py "MambaIR colour DN, 1280x720" --delta policy --path bf16 --repeats 5 2>&1 \
  | tail -1 | tee "$out/dn.txt"
timeout 80 python tools/jobs/delta_ab.py "MambaIR light SR x4, 720p out" --delta policy 2>&1 | tail -1 \
  | tee -a "$out/dn.txt"
timeout 240 python -m pytest -q -rf tests/archs/test_parity_gpu.py 2>&1 | grep -v "^SKIPPED" | tail -3 \
  | tee "$out/tests.txt"

#!/usr/bin/env bash
# Twenty-fifth session: with the padding states gone, MambaIR light's output pass needs 64 registers (was 72), so
# 32 warps per SM fit: time chunks for one wave of 32 (469) against the 24 per SM (352) of before; then the GPU
# scan tests.
#   bash tools/jobs/perf25c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for i in 1 2; do
  timeout 100 python tools/jobs/scan_variants_ab.py "MambaIR light four" "352:n_chunks=352" "396:n_chunks=396" \
    "440:n_chunks=440" "469:n_chunks=469" "528:n_chunks=528" "704:n_chunks=704" 2>&1 | tail -1 | tee -a "$out/chunks.txt"
done
timeout 100 python tools/jobs/scan_variants_ab.py "MambaIR light at 4K" --4k "1405:n_chunks=1405" "1407:n_chunks=1407" \
  "1876:n_chunks=1876" 2>&1 | tail -1 | tee -a "$out/chunks.txt"
timeout 420 python -m pytest -q -x tests/ops/test_scan_gpu.py 2>&1 | tail -3 | tee "$out/tests.txt"

#!/usr/bin/env bash
# MambaIRv2's default path with aligned widths and chained layers: the GPU tests, then the A/B through the
# engine (tools/jobs/v2_default_path_ab.py), alternated twice.
#   bash tools/jobs/perf32c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 240 python -m pytest -q -rf tests/ops/test_residual.py tests/ops/test_layer_norm.py tests/archs/test_parity_gpu.py \
  tests/engine/test_half_matmuls.py tests/archs/test_mambair_v2.py 2>&1 | grep -v "^SKIPPED" | tail -8 \
  | tee "$out/perf32c-tests.txt"
for round in 1 2; do
  for flags in "--no-align --no-chain" "--no-chain" "--no-align" ""; do
    timeout 90 python tools/jobs/v2_default_path_ab.py "MambaIRv2 Base SR x4, 720p out" $flags --repeats 7 2>&1 \
      | tail -1 | tee -a "$out/perf32c-ab.txt"
  done
  for flags in "--no-chain" ""; do
    timeout 90 python tools/jobs/v2_default_path_ab.py "MambaIRv2 light SR x4, 720p out" $flags --repeats 7 2>&1 \
      | tail -1 | tee -a "$out/perf32c-ab.txt"
  done
done

#!/usr/bin/env bash
# GPU issue, round 17F: MambaIRv2 rows again with the route's GEMMs back in bf16 (log-probabilities float32),
# then Inductor's max-autotune (GEMMs against Triton templates with fused neighbours) for the light models.
#   bash tools/jobs/perf17f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python benchmarks/bench_models.py --match "MambaIRv2" --paths reference,bf16+compile --repeats 5 \
  2>&1 | grep "^|" | tee "$out/bench-v2.txt"
timeout 200 python tools/jobs/v2_compile_options_ab.py mambairv2-light-x4 aligned aligned_max_autotune \
  > "$out/max-autotune-v2-light.txt" 2>&1
grep "^mambair" "$out/max-autotune-v2-light.txt"
timeout 170 python tools/jobs/v2_compile_options_ab.py mambair-light-x4 none max_autotune \
  > "$out/max-autotune-light.txt" 2>&1
grep "^mambair" "$out/max-autotune-light.txt"

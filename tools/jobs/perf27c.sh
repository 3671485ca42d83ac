#!/usr/bin/env bash
# Twenty-seventh session: aligned blocks with the channel attention's 1x1 convs as products and sums. GPU
# tests of folding and compiling (the eager bf16 fold test three more times for unet_realdn, which failed
# once in perf27b), the light model's kernels, then wall time against the unaligned blocks.
#   bash tools/jobs/perf27c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 240 python -m pytest -q tests/engine/test_fold.py tests/engine/test_compile.py 2>&1 | grep -v "^SKIPPED" \
  | tail -8 | tee "$out/tests.txt"
for i in 1 2 3; do
  timeout 60 python -m pytest -q tests/engine/test_fold.py -k "bf16_output and unet_realdn" 2>&1 | tail -1 \
    | tee -a "$out/tests.txt"
done
timeout 120 python benchmarks/profile_model.py mambair-light-x4 180 320 --path bf16+compile --top 45 2>&1 \
  | grep -A50 "^mambair-light" | tee "$out/profile-light.txt"
light="MambaIR light SR x4, 720p out"
classic="MambaIR classic SR x4, 720p out"
for round in 1 2; do
  timeout 90 python tools/jobs/aligned_ab.py "$light" --as-before 2>&1 | tail -1 | tee -a "$out/ab.txt"
  timeout 90 python tools/jobs/aligned_ab.py "$light" 2>&1 | tail -1 | tee -a "$out/ab.txt"
done
timeout 120 python tools/jobs/aligned_ab.py "$classic" --as-before 2>&1 | tail -1 | tee -a "$out/ab.txt"
timeout 120 python tools/jobs/aligned_ab.py "$classic" 2>&1 | tail -1 | tee -a "$out/ab.txt"

#!/usr/bin/env bash
# Twenty-seventh session, measured and not kept: MambaIR light's LayerNorm + projection pairs as one Triton kernel each
# (restore_cli.ops.norm_linear). GPU tests of the kernel and of folding, the light model's kernels, then wall
# time against the aligned blocks without it (tools/jobs/aligned_ab.py), alternated twice.
#   git apply tools/jobs/norm-linear.patch && bash tools/jobs/perf27i.sh "$OUT"   (the change is not in the tree)
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -rf tests/ops/test_norm_linear.py tests/engine/test_fold.py 2>&1 \
  | grep -v "^SKIPPED" | tail -8 | tee "$out/tests.txt"
timeout 120 python benchmarks/profile_model.py mambair-light-x4 180 320 --path bf16+compile --top 40 2>&1 \
  | grep -A45 "^mambair-light" | tee "$out/profile-light.txt"
light="MambaIR light SR x4, 720p out"
for round in 1 2; do
  timeout 90 python tools/jobs/aligned_ab.py "$light" --without norm-linear 2>&1 | tail -1 | tee -a "$out/ab.txt"
  timeout 90 python tools/jobs/aligned_ab.py "$light" 2>&1 | tail -1 | tee -a "$out/ab.txt"
done

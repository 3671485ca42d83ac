#!/usr/bin/env bash
# GPU issue, round 19E: the source Inductor generates for MambaIRv2 Base's compiled block (its LayerNorm
# reductions run 65-111 us a call where a persistent one takes 28), with the profile of the same forward.
#   bash tools/jobs/perf19e.sh "$OUT"
set -u
out=${1:?OUT}
cache=$(mktemp -d)
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$cache
mkdir -p "$out"
timeout 400 python benchmarks/profile_model.py mambairv2-base-x4 180 320 --path bf16+compile --top 30 2>&1 \
  | grep -v Warning | tee "$out/profile-v2-base.txt" | head -40
n=0
for f in $(grep -rl "async_compile.triton(" "$cache" --include=*.py); do
  if grep -q "triton_red_fused" "$f"; then n=$((n + 1)); cp "$f" "$out/output-code-$n.py"; fi
done
ls -la "$out"

#!/usr/bin/env bash
# perf33f's gate A/B on the compiled path (bf16+compile): inside a compiled region the product now sits in
# the depthwise operator, where Inductor used to fuse it with its neighbours.
#   bash tools/jobs/perf33g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for round in 1 2; do
  for case in "MambaIRv2 light SR x4, 720p out" "MambaIRv2 light SR x4, 4K out (whole)"; do
    for flag in --separate ""; do
      timeout 140 python tools/jobs/gate_fusion_ab.py "$case" $flag --path bf16+compile --repeats 9 2>&1 | tail -1 \
        | tee -a "$out/perf33g-ab.txt"
    done
  done
done

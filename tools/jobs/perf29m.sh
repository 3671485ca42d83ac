#!/usr/bin/env bash
# Twenty-ninth session: MambaIRv2's residual sums (and the residual groups' of both) by the Triton pass
# against PyTorch's mixed-dtype adds on the default CUDA path (v2 Base alternated twice, v2 light once),
# and v2 Base compiled once (its sums now addcmul / add: Inductor fuses them as before).
#   bash tools/jobs/perf29m.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for case in "MambaIRv2 Base SR x4, 720p out" "MambaIRv2 Base SR x4, 720p out" "MambaIRv2 light SR x4, 720p out"; do
  for flag in --torch ""; do
    timeout 70 python tools/jobs/residual_ab.py "$case" $flag 2>&1 | tail -1 | tee -a "$out/ab.txt"
  done
done
timeout 120 python tools/jobs/residual_ab.py "MambaIRv2 Base SR x4, 720p out" --path bf16+compile 2>&1 | tail -1 \
  | tee -a "$out/ab.txt"

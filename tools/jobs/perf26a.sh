#!/usr/bin/env bash
# Twenty-sixth session, survey: the carry kernel alone under several launch settings (carry_scan_ab.py), then
# where MambaIR light's and classic's compiled 720p forwards spend their kernels (top 70), and Inductor's
# output code for light (which small kernels do weight-only work every forward).
#   bash tools/jobs/perf26a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 150 python tools/jobs/carry_scan_ab.py 2>&1 | tail -30 | tee "$out/carry.txt"
TORCH_LOGS=output_code timeout 200 python benchmarks/profile_model.py mambair-light-x4 180 320 --path bf16+compile \
  --top 70 > "$out/light-log.txt" 2>&1
grep -A80 "^mambair-light" "$out/light-log.txt" | tee "$out/profile-light.txt"
gzip -9 "$out/light-log.txt"
timeout 200 python benchmarks/profile_model.py mambair-sr-x4 180 320 --path bf16+compile --top 50 2>&1 \
  | grep -A60 "^mambair-sr" | tee "$out/profile-classic.txt"

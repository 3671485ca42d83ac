#!/usr/bin/env bash
# Twenty-third session, fifth device command: time chunks for the light scans now that MambaIR light's
# routes share lanes (9 programs per chunk), then where the compiled MambaIR light's time goes.
#   bash tools/jobs/perf23e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 120 python tools/jobs/scan_chunks_light_ab.py 2>&1 | tee "$out/chunks-light.txt"
timeout 200 python benchmarks/profile_model.py mambair-light-x4 180 320 --path bf16+compile --top 40 2>&1 | grep -v Warning | tail -45 > "$out/profile-light.txt"
head -50 "$out/profile-light.txt" | cut -c1-150

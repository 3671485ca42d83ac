#!/usr/bin/env bash
# GPU issue, round 17E: with the float32 routing, compiled MambaIRv2 layer 1 at batch 4 is 2e-2 from the
# uncompiled layer in every process (round 17A): count the re-routed tokens and try Inductor's cast
# emulation; then the light models' launch tail (17D).   bash tools/jobs/perf17e.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$out"
TORCHINDUCTOR_FORCE_DISABLE_CACHES=1 timeout 240 python tools/jobs/v2_route_flips.py 2>&1 | grep -v "Warn\|warn" \
  | tail -12 | tee "$out/v2-route-flips.txt"
bash tools/jobs/perf17d.sh "$out"

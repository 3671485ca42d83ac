#!/usr/bin/env bash
# Tenth session (2026-11-23): one device command that assembles the deblur corpus carried in earlier
# calls (corpus-s, corpus-x), starts round 12 in the background (tools/jobs/round12.jobs) and, while it
# trains, runs the GPU checks that measure memory, not time (tools/jobs/perf10a.sh ... checks).
#   ROUND12_STEPS=2300 bash tools/jobs/round12-start.sh "$OUT" MINUTES
set -u
out=${1:?OUT}
minutes=${2:?minutes}
mkdir -p "$out"
bash tools/jobs/assemble-corpus-m7.sh
bash tools/gpu_jobs.sh start tools/jobs/round12.jobs "$minutes"
bash tools/jobs/perf10a.sh "$out" checks

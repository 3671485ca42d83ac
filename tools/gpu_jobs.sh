#!/usr/bin/env bash
# Run several `restore train` jobs on one GPU machine in the background, so that they outlive the
# machine's per-command time limit, and pack what they have exported so far. From the repository root:
#
#   bash tools/gpu_jobs.sh start tools/jobs/round2.jobs 25   # launch every job (25-minute budget each)
#   bash tools/gpu_jobs.sh watch 540 "$OUT"                  # report for up to 540 s (returns early when
#                                                             # all jobs end); then pack DEST/<job>.tar
#
# A job file holds one job per line, `name  restore-train-arguments...` (# comments allowed); each job
# writes runs/<name>/ (checkpoint, val.jsonl, export/) and runs/<name>.log. `watch` exports every run's
# latest checkpoint (EMA weights, last validation) and packs it with the log and val.jsonl, so a machine
# taken back early still leaves the newest weights.
set -u
cmd=${1:?start|watch}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
mkdir -p runs

start() {
  local jobs=$1 minutes=$2 name rest
  while read -r name rest; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    eval "args=($rest)"
    setsid python -m restore_cli train "${args[@]}" --out "runs/$name" --max-minutes "$minutes" --export-on-stop \
      > "runs/$name.log" 2>&1 < /dev/null &
    echo "$!" > "runs/$name.pid"
    echo "started $name (pid $!)"
  done < "$jobs"
}

running() {
  local pid n=0
  for f in runs/*.pid; do
    [[ -e "$f" ]] || continue
    pid=$(cat "$f")
    kill -0 "$pid" 2>/dev/null && n=$((n + 1))
  done
  echo "$n"
}

report() {
  for f in runs/*.log; do
    [[ -e "$f" ]] || continue
    printf '%-22s %s\n' "$(basename "$f" .log)" "$(grep -E 'step|PSNR|Error|error' "$f" | tail -n 1 | cut -c1-150)"
  done
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
  fi
}

pack() {
  local dest=$1 run name
  mkdir -p "$dest"
  for run in runs/*/; do
    name=$(basename "$run")
    [[ -f "$run/last.pt" ]] || continue
    python - "$run" <<'EOF' || echo "export of $run failed"
import sys
from pathlib import Path
from restore_cli.train.export import export_run
run = Path(sys.argv[1])
export_run(run / "last.pt", run / "snapshot")
if (run / "best.pt").is_file():  # --keep-best runs: the best validation so far too
    export_run(run / "best.pt", run / "snapshot-best")
EOF
    # One tar per snapshot: a device command returns files of at most 16 MiB each.
    tar -cf "$dest/$name.tar" -C runs "$name/snapshot" "$name/val.jsonl" "$name.log" 2>/dev/null
    [[ -d "$run/snapshot-best" ]] && tar -cf "$dest/$name-best.tar" -C runs "$name/snapshot-best" 2>/dev/null
  done
  ls -la "$dest"
}

watch() {
  # Polls every $POLL seconds (default 60) and never sleeps past the deadline, so the packing that
  # follows (about 10 s per run) starts on time: give it a minute inside the command's limit.
  local seconds=$1 dest=$2 t0=$SECONDS poll=${POLL:-60} left
  while left=$(( seconds - (SECONDS - t0) )); (( left > 0 )) && (( $(running) > 0 )); do
    sleep $(( left < poll ? left : poll ))
    echo "--- $(( (SECONDS - t0) / 60 )) min, $(running) job(s) running"
    report
  done
  report
  pack "$dest"
}

case "$cmd" in
  start) start "${2:?job file}" "${3:?minutes}" ;;
  watch) watch "${2:?seconds}" "${3:?destination}" ;;
  *) echo "usage: $0 start JOBFILE MINUTES | watch SECONDS DEST" >&2; exit 2 ;;
esac

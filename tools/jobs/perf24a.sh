#!/usr/bin/env bash
# Prepared at the end of the twenty-third session: bisect the colour-DN regression (the compiled model's
# scan 508 -> 740 ms per 1280x720 forward between a5ae93e and 5a199d7, perf23j-dn-in-model.txt). Each
# module below against the current one (whose four-route kernel is a5ae93e's), in the DN model, one process
# per pair. Make the modules here first (the device copy has no git history), then carry them:
#   for c in a5ae93e 7927182 84755a3 5a199d7; do git show $c:restore_cli/ops/scan/triton.py \
#     | sed 's/^from \.\.launch import/from restore_cli.ops.launch import/' > tools/jobs/_scan_at_$c.py; done
#   bash tools/jobs/perf24a.sh "$OUT"      (carry: tools/jobs/_scan_at_*.py)
# 7927182: bf16 pairs in every two-channel kernel; 84755a3: + route lanes (light only); 5a199d7: + whole-wave
# time chunks. Then the A/B script's own DN case, whose scan took 19 ms a layer against the model's 14.
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for c in a5ae93e 7927182 84755a3 5a199d7; do
  echo "## previous = $c" | tee -a "$out/dn-bisect.txt"
  timeout 110 python tools/jobs/scan_in_model_ab.py mambair-dn-color-s25 720 1280 "tools/jobs/_scan_at_$c.py" 2>&1 \
    | tail -3 | tee -a "$out/dn-bisect.txt"
done
# The DN benchmark row with the current code (0.81 s whole before the twenty-third session, 1.04 s at its end).
timeout 200 python benchmarks/bench_models.py --match "colour DN, 1280x720" --paths bf16+compile 2>&1 \
  | grep "^|" | tee "$out/dn-bench.txt"

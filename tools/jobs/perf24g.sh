#!/usr/bin/env bash
# Twenty-fourth session: colour DN's scan (blocks, prefetch 3) over time-chunk counts (the launcher: 227), and
# with the chunk-end pass back at prefetch 2 (_scan_candidate.py) against HEAD (_scan_prev.py).
#   bash tools/jobs/perf24g.sh "$OUT"      (carry: tools/jobs/_scan_prev.py, tools/jobs/_scan_candidate.py)
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1
mkdir -p "$out"
timeout 120 python tools/jobs/scan_variants_ab.py "colour DN" "default:" "n113:n_chunks=113" "n170:n_chunks=170" \
  "n340:n_chunks=340" "n454:n_chunks=454" 2>&1 | grep " us " | tee "$out/dn-chunks.txt"
timeout 150 python tools/jobs/scan_softplus_ab.py tools/jobs/_scan_prev.py --candidate=tools/jobs/_scan_candidate.py 2>&1 \
  | grep "^|" | tee "$out/chunk-end-prefetch2.txt"

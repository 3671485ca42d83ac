#!/usr/bin/env bash
# Twenty-fifth session: register caps for the output pass of the four routes in blocks, as the route lanes got:
# one channel per thread (colour DN: 120 registers, 17 warps per SM) at 96 or 104, two channels (MambaIR
# classic: 128, 16 warps) at 112 or 120; none spills (benchmarks/scan_sass.py). The scan alone against HEAD.
#   bash tools/jobs/perf25f.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
for caps in "96 112" "104 120"; do
  set -- $caps
  python - tools/jobs/_scan_prev.py tools/jobs/_scan_at_caps.py "$1" "$2" <<'PY'
import sys
src, dst, one, two = sys.argv[1:]
s = open(src).read()
old = "    return 168 if per_thread >= 2 and not cross and channel_last else None"
assert old in s
s = s.replace(old, f"    if cross:\n        return {one} if per_thread == 1 else {two}\n" + old)
open(dst, "w").write(s)
PY
  echo "== caps: one channel per thread $1, two $2" | tee -a "$out/caps.txt"
  timeout 250 python tools/jobs/scan_softplus_ab.py --candidate=tools/jobs/_scan_at_caps.py 2>&1 | grep "^|" | tee -a "$out/caps.txt"
done

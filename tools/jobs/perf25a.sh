#!/usr/bin/env bash
# Twenty-fifth session: does Inductor's programmatic dependent launch (TORCHINDUCTOR_ENABLE_PDL=1) shorten the
# launch-bound light models? 720p rows, bf16 + compile, PDL off/on alternated, each case in its own process.
#   bash tools/jobs/perf25a.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
python - <<'PY' 2>&1 | tee "$out/pdl.txt"
import torch, torch._inductor.config as c, triton
print(torch.__version__, triton.__version__, torch.version.cuda, "enable_pdl" in dir(c.triton))
PY
for round in 1 2; do
  for pdl in 0 1; do
    echo "== round $round, TORCHINDUCTOR_ENABLE_PDL=$pdl" | tee -a "$out/pdl.txt"
    TORCHINDUCTOR_ENABLE_PDL=$pdl timeout 280 python benchmarks/bench_models.py --quick --repeats 7 \
      --match "light" --paths bf16+compile 2>&1 | grep "^|" | tee -a "$out/pdl.txt"
  done
done

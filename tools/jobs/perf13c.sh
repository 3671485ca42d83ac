#!/usr/bin/env bash
# GPU issue, round 13C (2026-11-24): GPU tests of the compiled CAB and token convolutions; whether
# MambaIRv2's fault under Inductor's stride padding survives the token convolution's new compiled form
# (dense input, bias outside the operator); GPU kernel time per forward (torch.profiler, less noisy than
# wall time), this tree against tools/jobs/ab13.patch reversed.
#   bash tools/jobs/perf13c.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 240 python -m pytest -q -p no:cacheprovider tests/engine/test_compile.py tests/archs/test_mambair.py \
  tests/archs/test_mambair_v2.py 2>&1 | tail -3 | tee "$out/tests.txt"
timeout 200 python tools/jobs/inductor_padding_v2_debug.py 2>&1 | grep "fast path" | tee "$out/v2-padding.txt"
profile() {
  timeout 100 python benchmarks/profile_model.py "$1" 180 320 --path bf16+compile --top 40 2>&1 | grep -v Warn \
    > "$out/$2-$1.txt"
  echo "$2 $1: $(grep 'GPU kernel' "$out/$2-$1.txt")"
}
for card in mambair-sr-x4 mambairv2-base-x4 mambair-light-x4; do profile $card new; done
patch -s -R -p1 < tools/jobs/ab13.patch
for card in mambair-sr-x4 mambairv2-base-x4 mambair-light-x4; do profile $card head; done
patch -s -p1 < tools/jobs/ab13.patch

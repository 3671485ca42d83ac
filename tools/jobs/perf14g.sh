#!/usr/bin/env bash
# GPU issue, round 14G (2026-11-24): MambaIRv2 at aligned widths under --compile (align_mambairv2: 176
# channels, 352 hidden, heads of 32). GPU tests, GPU kernel time of one compiled forward (Base, 180x320),
# then the benchmark rows of MambaIRv2 Base (reference vs bf16 + compile).   bash tools/jobs/perf14g.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 200 python -m pytest -q -p no:cacheprovider tests/engine/test_compile.py tests/archs/test_parity_gpu.py -k \
  "aligned or v2" 2>&1 | tail -3 | tee "$out/tests.txt"
timeout 200 python tools/jobs/v2_compile_options_ab.py mambairv2-base-x4 none aligned 2>&1 | grep -v Warn > "$out/profile.txt"
grep "rel L2\|GPU kernel" "$out/profile.txt"
timeout 260 python benchmarks/bench_models.py --match "MambaIRv2 Base" --paths reference,bf16+compile --repeats 3 \
  2>&1 | grep -v Warn | grep "^|" | tee "$out/bench.txt"

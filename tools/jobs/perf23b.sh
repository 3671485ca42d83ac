#!/usr/bin/env bash
# Twenty-third session, second device command: B/C as int32 pairs at two channels per thread only
# (restore_cli.ops.scan.triton.bc_pairs) against HEAD (tools/jobs/_scan_prev.py): the scan alone, a
# candidate (tools/jobs/_scan_candidate.py: the four routes' output pass with the 168-register cap too),
# then the scan in the compiled MambaIRv2 Base and MambaIR classic, and the bf16 two-channel GPU tests.
#   bash tools/jobs/perf23b.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
timeout 100 python tools/jobs/scan_softplus_ab.py 2>&1 | tee "$out/scan-ab.txt"
timeout 100 python tools/jobs/scan_softplus_ab.py --candidate=tools/jobs/_scan_candidate.py 2>&1 | tee "$out/scan-ab-cap.txt"
timeout 150 python tools/jobs/scan_in_model_ab.py mambairv2-base-x4 180 320 2>&1 | tail -3 | tee "$out/v2-base-in-model.txt"
timeout 150 python tools/jobs/scan_in_model_ab.py mambair-sr-x4 180 320 2>&1 | tail -3 | tee "$out/classic-in-model.txt"
timeout 90 python -m pytest -m gpu tests/ops/test_scan_gpu.py -q -x -p no:cacheprovider -k "bfloat16 and (two_channels or tokens or state_count)" 2>&1 | tail -2 | tee "$out/scan-gpu-tests.txt"

#!/usr/bin/env bash
# Twenty-fifth session: MambaIR light's route lanes at 28 programs per SM (one full wave: the output pass's 72
# registers, with the δ bias, hold 28 warps per SM) against 24, and with the output pass capped at 64 registers
# (32 per SM). The scan alone (720p and 4K), then in the compiled model against HEAD (_scan_prev.py).
#   bash tools/jobs/perf25d.sh "$OUT"
set -u
out=${1:?OUT}
export PYTHONPATH=$PWD:$PWD/tools/jobs PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$HOME/.cache/restore-inductor
mkdir -p "$out"
patch_module() {  # $1: source, $2: destination, $3: lanes per SM, $4: cap the one-channel cross output pass at 64
  python - "$@" <<'PY'
import sys
src, dst, per_sm, cap = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
s = open(src).read()
s = s.replace("per_sm = 24 if route_lanes", f"per_sm = {per_sm} if route_lanes")
if cap:
    s = s.replace("    return 168 if per_thread >= 2 and not cross and channel_last else None",
                  "    return 64 if per_thread == 1 and cross else 168 if per_thread >= 2 and not cross and channel_last else None")
open(dst, "w").write(s)
PY
}
patch_module tools/jobs/_scan_prev.py tools/jobs/_scan_at_cap64.py 32 1
for i in 1 2; do
  timeout 100 python tools/jobs/scan_variants_ab.py "MambaIR light four" "352:n_chunks=352" "396:n_chunks=396" \
    "409:n_chunks=409" "420:n_chunks=420" 2>&1 | tail -1 | tee -a "$out/chunks.txt"
  timeout 100 python tools/jobs/scan_variants_ab.py "MambaIR light four" --module=tools/jobs/_scan_at_cap64.py \
    "cap64-352:n_chunks=352" "cap64-409:n_chunks=409" "cap64-469:n_chunks=469" 2>&1 | tail -1 | tee -a "$out/chunks.txt"
done
timeout 100 python tools/jobs/scan_variants_ab.py "MambaIR light at 4K" --4k "1405:n_chunks=1405" "1636:n_chunks=1636" \
  "1876:n_chunks=1876" 2>&1 | tail -1 | tee -a "$out/chunks.txt"
timeout 100 python tools/jobs/scan_variants_ab.py "MambaIR light at 4K" --4k --module=tools/jobs/_scan_at_cap64.py \
  "cap64-1876:n_chunks=1876" "cap64-1407:n_chunks=1407" 2>&1 | tail -1 | tee -a "$out/chunks.txt"
# in the compiled model: the package's module patched (28 per SM), then capped (32 per SM), each against HEAD
cp restore_cli/ops/scan/triton.py /tmp/triton_head.py
for variant in "28 0" "32 1"; do
  patch_module /tmp/triton_head.py restore_cli/ops/scan/triton.py $variant
  echo "== lanes per SM, cap64: $variant" | tee -a "$out/in-model.txt"
  timeout 150 python tools/jobs/scan_in_model_ab.py mambair-light-x4 180 320 2>&1 | grep "ms" | tee -a "$out/in-model.txt"
done
cp /tmp/triton_head.py restore_cli/ops/scan/triton.py

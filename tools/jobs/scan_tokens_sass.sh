#!/usr/bin/env bash
# Instruction mix of the CUDA scan (restore_cli/ops/scan/scan_tokens.cu) as ptxas builds it for sm_90,
# bf16 four-route configuration (K 8, CT 8, 2 blocks/SM); needs nvcc and cuobjdump (the GPU machine).
set -euo pipefail
src=$(mktemp --suffix .cu)
{ printf '#define %s\n' "MIN_BLOCKS 2" "UD_VEC 8" "BC_VEC 8" "IN_KIND 1" "DT_KIND 1" "BC_KIND 1" "OUT_KIND 3" \
    "N_STATE 16" "N_PAD 16" "K_ITEMS 8" "CT 8" "HAS_D 1" "HAS_BIAS 1" "SOFTPLUS 1" "PASS ${PASS:-0}"
  cat "$(dirname "$0")/../../restore_cli/ops/scan/scan_tokens.cu"; } > "$src"
nvcc -arch=sm_90 -cubin -Xptxas -v -o "${src%.cu}.cubin" "$src" 2>&1 | grep -E "registers|spill"
cuobjdump -sass "${src%.cu}.cubin" | grep -oE '^\s+/\*[0-9a-f]{4}\*/\s+(@!?U?P[0-9T] )?[A-Z0-9_]+' \
    | awk '{print $NF}' | sort | uniq -c | sort -rn | head -25
echo "total: $(cuobjdump -sass "${src%.cu}.cubin" | grep -cE '^\s+/\*[0-9a-f]{4}\*/')"

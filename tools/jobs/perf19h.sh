#!/usr/bin/env bash
# GPU issue, round 19H: MambaIR classic's compiled block as Inductor writes it (its LayerNorms compile as
# looped reductions of 41-63 us a call): the profile and the generated source; the layout of each block's
# input and output on CUDA (bf16 autocast, eager).   bash tools/jobs/perf19h.sh "$OUT"
set -u
out=${1:?OUT}
cache=$(mktemp -d)
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$cache
mkdir -p "$out"
timeout 60 python - <<'PY' 2>&1 | tee "$out/layout.txt"
import torch
from restore_cli.bench import photo_input, seeded_model
net = seeded_model("mambair-sr-x4", torch.device("cuda"))
seen = []
for name, m in net.named_modules():
    if type(m).__name__ in ("VSSBlock", "ResidualGroup") and name.count(".") <= 3:
        m.register_forward_hook(lambda m, a, o, name=name: seen.append(f"{name}: in {tuple(a[0].stride())} out {tuple(o.stride())}"))
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    net(photo_input(32, 48, torch.device("cuda")))
print("\n".join(seen[:8]))
PY
timeout 300 python benchmarks/profile_model.py mambair-sr-x4 180 320 --path bf16+compile --top 30 2>&1 \
  | grep -v -i warn | tee "$out/profile-classic.txt" | head -24
n=0
for f in $(grep -rl "async_compile.triton(" "$cache" --include=*.py); do
  if grep -q "native_layer_norm" "$f"; then n=$((n + 1)); cp "$f" "$out/output-code-$n.py"; fi
done
ls "$out"

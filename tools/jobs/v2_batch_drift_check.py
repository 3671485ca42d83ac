"""Does compiled MambaIRv2 Base still drift when given several tiles per pass? The 4K photo in tiles of 270,
bf16 + compile with the engine's tile-batch cap lifted, four tiles per pass against one, each against the
float32 reference (rel L2; uncompiled bf16 gives 6e-4, the drift gave 2e-3 to 5e-3 in some processes).
Run it in several fresh processes: the drift came and went between processes.

    python tools/jobs/v2_batch_drift_check.py
"""

from __future__ import annotations

import torch
from v2_4k_compiled_precision import reference_case

from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import restore_tensor


def main() -> None:
    dev = torch.device("cuda")
    net, x, ref = reference_case()
    model = wrap_module(net, arch="mambairv2-base-x4", device=dev, precision="bf16", compile=True)
    model.extra.pop("tile_batch_limit", None)
    for batch in (4, 1, 4):
        out = restore_tensor(model, x, tile=270, overlap=16, batch_size=batch)
        d = out - ref
        print(f"compiled bf16, {batch} tiles per pass: rel L2 {(d.norm() / ref.norm()).item():.1e}, "
              f"max abs {d.abs().max().item():.1e}", flush=True)


if __name__ == "__main__":
    main()

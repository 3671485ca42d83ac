"""Compiled MambaIRv2 Base at 4K in tiles of 270: four tiles per pass (the engine's cap lifted) against one,
interleaved wall-time medians, and each one's agreement with the other. Decides whether
``MambaIRv2.compiled_tile_batch = 1`` should go now that the batch drift no longer reproduces.

    python tools/jobs/v2_tile_batch_ab.py [card]
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import restore_tensor


def main() -> None:
    card = sys.argv[1] if len(sys.argv) > 1 else "mambairv2-base-x4"
    dev = torch.device("cuda")
    model = wrap_module(seeded_model(card, dev), arch=card, device=dev, precision="bf16", compile=True)
    model.extra.pop("tile_batch_limit", None)
    x = photo_input(540, 960, torch.device("cpu"))
    outs, times = {}, {1: [], 4: []}
    for batch in times:  # compile and capture both shapes first
        outs[batch] = restore_tensor(model, x, tile=270, overlap=16, batch_size=batch)
        restore_tensor(model, x, tile=270, overlap=16, batch_size=batch)
    for _ in range(5):
        for batch in times:
            torch.cuda.synchronize()
            start = time.perf_counter()
            restore_tensor(model, x, tile=270, overlap=16, batch_size=batch)
            times[batch].append((time.perf_counter() - start) * 1e3)
    rel = ((outs[4] - outs[1]).norm() / outs[1].norm()).item()
    print(f"{card} 4K out, tiles of 270, bf16 + compile: one tile per pass {statistics.median(times[1]):.0f} ms, "
          f"four {statistics.median(times[4]):.0f} ms; rel L2 between them {rel:.1e}")


if __name__ == "__main__":
    main()

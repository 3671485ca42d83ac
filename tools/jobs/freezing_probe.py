"""How Inductor's freezing meets the regional compile of MambaIR's blocks (CPU is enough: tracing decides).

    python tools/jobs/freezing_probe.py

Three ways for a two-block MambaIR: no freezing; ``freezing`` in ``torch.compile``'s options (what
``compile_blocks`` passes per network); ``torch._inductor.config.freezing`` set globally. Dynamo decides
whether parameters become constants from the global setting only (``is_parameter_freezing``), so with the
per-compile option both blocks share one graph whose weights stay inputs: nothing is folded. Set globally,
every block instance is its own graph (guarded on its parameters), which is what made the twenty-fifth
session's A/B faster (``results/perf25g-inductor-freezing.txt``) and would multiply compile time by the
number of blocks (36 for MambaIR classic), against a recompile limit of 64 shared with tile sizes.
Run on 2026-11-25 (torch 2.13 CPU): none 1 graph, options 1 graph, global 2 graphs; outputs equal.
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, torch
from torch._dynamo.utils import counters
from restore_cli.archs import from_official
from restore_cli.engine.compile import compile_blocks
mode = sys.argv[1]
torch.manual_seed(0)
net = from_official("MambaIR", dict(upscale=2, embed_dim=60, depths=[2], mlp_ratio=2.0, d_state=8,
                                    upsampler="pixelshuffle", img_range=1.0)).eval()
if mode == "options":
    type(net).compile_options = (*type(net).compile_options, ("freezing", True))
if mode == "global":
    torch._inductor.config.freezing = True
x = torch.rand(1, 3, 12, 16)
with torch.inference_mode():
    expected = net(x)
    compile_blocks(net)
    got = net(x)
print(f"{mode:8s} graphs {counters['stats']['unique_graphs']}, max diff {(got - expected).abs().max().item():.1e}")
"""


def main() -> None:
    for mode in ("none", "options", "global"):  # each in a fresh process: the settings are process-wide
        subprocess.run([sys.executable, "-c", PROBE, mode], check=True)


if __name__ == "__main__":
    main()

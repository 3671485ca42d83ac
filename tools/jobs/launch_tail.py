"""Where a compiled forward's small launches come from: the CUDA runtime calls of one bf16 forward at
180x320 (kernel launches, memsets, copies), counted by the PyTorch operator (or compiled graph) that made
them. MambaIRv2 light ran over 1,400 launches per forward, 300 of them memsets (2026-11-24), a long tail of a few
microseconds each.

    python tools/jobs/launch_tail.py [CARD] [--top 25]
"""

from __future__ import annotations

import argparse
from collections import Counter

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.model import wrap_module

RUNTIME_CALLS = ("cudaLaunchKernel", "cuLaunchKernel", "cuLaunchKernelEx", "cudaMemsetAsync", "cudaMemcpyAsync",
                 "cudaLaunchKernelExC")


def origin(event) -> str:
    """The outermost operator above a runtime call that names what the model did (skipping wrappers)."""
    names = []
    parent = event.cpu_parent
    while parent is not None:
        names.append(parent.name)
        parent = parent.cpu_parent
    for name in names:  # innermost first: the aten op or the compiled region that launched it
        if not name.startswith(("cuda", "cu", "Activity")):
            return name[:90]
    return "(top level)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("card", nargs="?", default="mambairv2-light-x4")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    device = torch.device("cuda")
    x = photo_input(180, 320, device)
    net = seeded_model(args.card, device)
    configure_scan(net, backend="triton", fused_cross_scan=True)
    model = wrap_module(net, arch=args.card, device=device, precision="bf16", cuda_graphs=False, compile=True)

    def run() -> None:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            model.module(x)

    for _ in range(3):
        run()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                            torch.profiler.ProfilerActivity.CUDA]) as prof:
        run()
        torch.cuda.synchronize()
    calls = [e for e in prof.events() if e.name in RUNTIME_CALLS]
    by_kind = Counter(e.name for e in calls)
    print(f"{args.card}: {len(calls)} runtime calls in one forward: {dict(by_kind)}")
    for kind in ("cudaMemsetAsync", None):
        chosen = [e for e in calls if (e.name == kind if kind else e.name != "cudaMemsetAsync")]
        label = "memsets" if kind else "launches and copies"
        print(f"{label} by origin:")
        for name, count in Counter(origin(e) for e in chosen).most_common(args.top):
            print(f"  {count:5d}  {name}")


if __name__ == "__main__":
    main()

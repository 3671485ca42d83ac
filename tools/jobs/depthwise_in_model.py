"""The depthwise-conv kernel's launch settings in the models: GPU kernel time of one compiled bf16 forward
at 180x320, interleaved (A B A B ...), with :func:`restore_cli.ops.depthwise_conv.triton.launch_config`
swapped for each variant (``runs``: as shipped). perf16-depthwise-in-model.txt also has the kernel before
runs of pixels (commit 5c5f7cb, one load per tap and pixel) as ``previous``.

    python tools/jobs/depthwise_in_model.py CARD [variant ...]
"""

from __future__ import annotations

import statistics
import sys

import torch

import restore_cli.ops.depthwise_conv.triton as depthwise_triton
from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.compile import compile_blocks

SHIPPED = depthwise_triton.launch_config
VARIANTS = {
    "runs": SHIPPED,
    "runs-c32": lambda c, k=3: (2, 8, 4, 32, 2) if c >= 32 else SHIPPED(c, k),
    "runs-c64": lambda c, k=3: (2, 8, 4, 64, 4) if c >= 64 else SHIPPED(c, k),
}


def main(card: str, names: list[str]) -> None:
    device = torch.device("cuda")
    x = photo_input(180, 320, device)
    net = seeded_model(card, device)
    configure_scan(net, backend="triton", fused_cross_scan=True)
    if callable(getattr(net, "align_channels", None)):
        net.align_channels()
    compile_blocks(net)

    def run() -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            return net(x)

    totals: dict[str, list[float]] = {n: [] for n in names}
    conv: dict[str, float] = {}
    outputs: dict[str, torch.Tensor] = {}
    for name in names:  # warm-up (the variants share one compiled graph: the kernel is an opaque operator)
        depthwise_triton.launch_config = VARIANTS[name]
        outputs[name] = run().float()
    for _ in range(5):
        for name in names:
            depthwise_triton.launch_config = VARIANTS[name]
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                run()
                torch.cuda.synchronize()
            events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
            totals[name].append(sum(e.self_device_time_total for e in events) / 1e3)
            conv[name] = sum(e.self_device_time_total for e in events if "depthwise" in e.key) / 1e3
    first = outputs[names[0]]
    for name in names:
        rel = ((outputs[name] - first).norm() / first.norm()).item()
        print(f"{card} {name}: GPU kernel time median {statistics.median(totals[name]):.2f} ms "
              f"(depthwise kernels {conv[name]:.2f} ms), rel vs {names[0]} {rel:.1e}", flush=True)
    depthwise_triton.launch_config = SHIPPED


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or list(VARIANTS))

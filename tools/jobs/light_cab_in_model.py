"""MambaIR light's channel-attention block in the compiled model: GPU kernel time of one bf16 forward at
180x320, interleaved, with the depthwise convs on tokens (``CAB.forward_light_inference``, as shipped)
and as before 2026-11-24 (cuDNN for the 3x3 and Inductor's stencil for the dilated 3x3:
``CAB.forward_compiled``).

    python tools/jobs/light_cab_in_model.py
"""

from __future__ import annotations

import statistics

import torch

from restore_cli.archs import configure_scan
from restore_cli.archs.mambair import CAB
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.compile import compile_blocks

SHIPPED = CAB.forward


def before(self: CAB, x: torch.Tensor) -> torch.Tensor:
    if torch.compiler.is_compiling() and x.is_cuda:
        return self.forward_compiled(x)
    return self.cab(x)


def main() -> None:
    device = torch.device("cuda")
    x = photo_input(180, 320, device)
    net = seeded_model("mambair-light-x4", device)
    configure_scan(net, backend="triton", fused_cross_scan=True)
    compile_blocks(net)
    variants = {"tokens": SHIPPED, "before": before}

    def run() -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            return net(x)

    outputs, totals = {}, {name: [] for name in variants}
    for name, forward in variants.items():  # each variant compiles its own graphs (dynamo guards on code)
        CAB.forward = forward
        torch._dynamo.reset()
        compile_blocks(net)
        outputs[name] = run().float()
        for _ in range(7):
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                run()
                torch.cuda.synchronize()
            totals[name].append(sum(e.self_device_time_total for e in prof.key_averages()) / 1e3)
    CAB.forward = SHIPPED
    ref = outputs["before"]
    for name in variants:
        rel = ((outputs[name] - ref).norm() / ref.norm()).item()
        print(f"mambair-light-x4 CAB {name}: GPU kernel time median {statistics.median(totals[name]):.2f} ms "
              f"(of 7), rel vs before {rel:.1e}", flush=True)


if __name__ == "__main__":
    main()

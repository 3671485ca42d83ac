"""MambaIRv2 Base's residual stream layout on CUDA (bf16 autocast): the strides entering and leaving each
ASSB and attentive layer, eager; then the GPU kernel time of a compiled 180x320 forward as it is and with
the attentive layers' input and output made contiguous (tokens-major), interleaved.

    python tools/jobs/v2_stream_layout.py
"""

from __future__ import annotations

import statistics

import torch

from restore_cli.archs.mambair_v2 import AttentiveLayer
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.compile import compile_blocks
from restore_cli.engine.model import store_matmul_weights_in


def model(contiguous: bool) -> torch.nn.Module:
    net = seeded_model("mambairv2-base-x4", torch.device("cuda"))
    net.align_channels()
    store_matmul_weights_in(net, torch.bfloat16)
    if contiguous:
        for layer in net.modules():
            if isinstance(layer, AttentiveLayer):
                forward = layer.forward
                layer.forward = lambda x, *args, forward=forward: forward(x.contiguous(), *args).contiguous()
    return net


def kernel_ms(net: torch.nn.Module, x: torch.Tensor) -> float:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            net(x)
        torch.cuda.synchronize()
    return sum(e.self_device_time_total for e in prof.key_averages()) / 1e3


def main() -> None:
    print(torch.__version__, torch.cuda.get_device_name())
    net = model(False)
    seen = []
    for name, m in net.named_modules():
        if type(m).__name__ in ("ASSB", "AttentiveLayer") and name.count(".") <= 3:
            m.register_forward_hook(lambda m, a, o, name=name: seen.append(f"{name}: in {tuple(a[0].stride())} "
                                                                        f"out {tuple(o.stride())}"))
    x = photo_input(64, 64, torch.device("cuda"))
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        net(x)
    print("\n".join(seen[:9]))
    x = photo_input(180, 320, torch.device("cuda"))
    nets = {"as is": model(False), "contiguous stream": model(True)}
    outs = {}
    for key, n in nets.items():
        compile_blocks(n)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            outs[key] = n(x).float()
            n(x)
    diff = ((outs["as is"] - outs["contiguous stream"]).norm() / outs["as is"].norm()).item()
    print(f"rel difference between the two: {diff:.1e}")
    times = {k: [] for k in nets}
    for _ in range(3):
        for key, n in nets.items():
            times[key].append(kernel_ms(n, x))
    for key, t in times.items():
        print(f"MambaIRv2 Base 180x320 bf16+compile, {key}: GPU kernel time {statistics.median(t):.1f} ms")


if __name__ == "__main__":
    main()

"""Which MambaIRv2 layer first goes non-finite (or drifts) when its compiled blocks use Inductor's stride
padding in bf16: forward hooks compare each AttentiveLayer's output with the eager bf16 run's."""

import torch
import torch._dynamo

from restore_cli.bench import photo_input, seeded_model

torch._dynamo.config.recompile_limit = 64
x = photo_input(180, 320, torch.device("cuda"))
for name, options in (("pad16", {"padding_stride_threshold": 64, "padding_alignment_bytes": 16}), ("none", None)):
    torch._dynamo.reset()
    net = seeded_model("mambairv2-base-x4", torch.device("cuda"))
    layers = [m for m in net.modules() if type(m).__name__ == "AttentiveLayer"]
    outputs: dict[str, list[torch.Tensor]] = {"eager": [], "compiled": []}
    run = ["eager"]

    @torch.compiler.disable
    def keep(mod, args, out, outputs=outputs, run=run):
        outputs[run[0]].append(out.float().clone())

    for layer in layers:
        layer.register_forward_hook(keep)
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        net(x)
        for layer in layers:
            layer.compile(dynamic=False, options=options)
        run[0] = "compiled"
        net(x)
    for i, (a, b) in enumerate(zip(outputs["eager"], outputs["compiled"], strict=True)):
        if i < 10 or i % 5 == 0 or not b.isfinite().all():
            rel = ((b - a).norm() / a.norm()).item()
            print(f"{name}: layer {i:2d} (shift {i % 2}): rel L2 {rel:.2e}, non-finite {(~b.isfinite()).sum().item()}",
                  flush=True)
        if not b.isfinite().all():
            break

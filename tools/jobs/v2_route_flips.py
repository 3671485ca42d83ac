"""Why compiled MambaIRv2 layer 1 (batch of four 192x256 tiles, bf16) is 2e-2 from the uncompiled layer with
the float32 routing: how many tokens the compiled graph routes differently, whether its route input (norm3's
output) differs, and whether Inductor's precision-cast emulation (``emulate_precision_casts``: round a value
cast to bf16 inside a fused kernel, as eager does) changes it.

    python tools/jobs/v2_route_flips.py
"""

from __future__ import annotations

import torch
from v2_drift_case import drift_case

from restore_cli.engine.compile import compile_options


def main() -> None:
    net, layer, args = drift_case()
    assm = layer.assm
    stash: list[torch.Tensor] = []
    original = assm.forward_fused

    def stashing(x, x_size, prompt, order, inverse):
        stash.extend([x, prompt, order])
        return original(x, x_size, prompt, order, inverse)

    assm.forward_fused = stashing
    table = (assm.embeddingB.weight @ layer.embeddingA.weight).float()

    def classes(prompt: torch.Tensor) -> torch.Tensor:
        return torch.stack([(p.float()[:, None, :] == table[None]).all(-1).float().argmax(-1) for p in prompt])

    def route(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", enabled=False):
            return assm.route(x.float()).argmax(-1)

    options = compile_options(net)
    how = {"options": options} if options else {}
    import torch._inductor.config as inductor_config

    for batch in (4, 1):
        a = (args[0][:batch], *args[1:])
        stash.clear()
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            want = layer(*a).float()
        x_e, prompt_e, order_e = stash[:3]
        cls_e = classes(prompt_e)
        print(
            f"batch {batch}: eager classes from prompt == eager route: "
            f"{(cls_e == route(x_e)).float().mean().item():.4f}; route input dtype {x_e.dtype}",
            flush=True,
        )
        for variant in ("default", "emulate_precision_casts"):
            torch._dynamo.reset()
            inductor_config.emulate_precision_casts = variant == "emulate_precision_casts"
            stash.clear()
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                got = torch.compile(layer, dynamic=False, **how)(*a).float()
            x_c, prompt_c, order_c = stash[:3]
            cls_c = classes(prompt_c)
            rel = ((got - want).norm() / want.norm()).item()
            x_rel = ((x_c.float() - x_e.float()).norm() / x_e.float().norm()).item()
            print(
                f"batch {batch} {variant}: out rel {rel:.1e}; route input rel {x_rel:.1e} ({x_c.dtype}); "
                f"classes differ {(cls_c != cls_e).float().mean().item():.4f}, eager route on compiled input "
                f"differs {(route(x_c) != cls_e).float().mean().item():.4f}, compiled classes vs eager route "
                f"on compiled input {(route(x_c) != cls_c).float().mean().item():.4f}; order differs "
                f"{(order_c != order_e).float().mean().item():.4f}",
                flush=True,
            )
        inductor_config.emulate_precision_casts = False


if __name__ == "__main__":
    main()

"""A shifted-window MambaIRv2 Base layer (aligned widths), compiled whole, drifts for a batch of four 192x256
tiles although each of its parts compiled alone does not (``v2_layer_batch_bisect.py``). Here the whole layer
is compiled with one part kept out of the graph (``torch.compiler.disable``) or one kernel swapped for its
PyTorch computation, against the uncompiled layer on the same captured inputs, bf16. The drift comes and
goes between processes (compile-time choices), so run each variant in several fresh processes with the
Inductor caches off (TORCHINDUCTOR_FORCE_DISABLE_CACHES=1).

    python tools/jobs/v2_layer_fusion_bisect.py ["variant" ...]
"""

from __future__ import annotations

import sys

import torch
from v2_drift_case import drift_case

import restore_cli.ops.depthwise_conv as depthwise
import restore_cli.ops.window_attention as window_attention
from restore_cli.engine.compile import compile_options


def main() -> None:
    net, layer, args = drift_case()
    options = compile_options(net)
    how = {"options": options} if options else {}
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        want = layer(*args).float()
    parts = {"assm": layer.assm, "convffn1": layer.convffn1, "convffn2": layer.convffn2, "proj": layer.win_mhsa.proj,
             "wqkv": layer.wqkv, "norm1": layer.norm1, "norm3": layer.norm3, "route": layer.assm.route}
    variants = sys.argv[1:] or ["whole", "scan in PyTorch (chunked)", "no Inductor buffer reuse",
                                "no Inductor in-place reuse", "no pointwise autotuning"]
    for variant in variants:
        torch._dynamo.reset()
        saved = []
        if variant == "window kernel off":
            saved.append((window_attention, "use_triton", window_attention.use_triton))
            window_attention.use_triton = lambda *a: False
        if variant == "depthwise kernel off":
            saved.append((depthwise, "use_triton", depthwise.use_triton))
            depthwise.use_triton = lambda *a: False
        if variant == "scan in PyTorch (chunked)":
            config = layer.assm.selectiveScan.routing_config
            saved.append((config, "scan_backend", config.scan_backend))
            layer.assm.selectiveScan.routing_config.scan_backend = "torch"
        if variant.startswith("no Inductor"):
            import torch._inductor.config as inductor_config

            attr = "allow_buffer_reuse" if "buffer" in variant else "inplace_buffers"
            saved.append((inductor_config, attr, getattr(inductor_config, attr)))
            setattr(inductor_config, attr, False)
        if variant == "no pointwise autotuning":
            import torch._inductor.config as inductor_config

            saved.append((inductor_config.triton, "autotune_pointwise", inductor_config.triton.autotune_pointwise))
            inductor_config.triton.autotune_pointwise = False
        if variant.endswith(" outside"):
            module = parts[variant.split()[0]]
            saved.append((module, "forward", None))
            module.forward = torch.compiler.disable(type(module).forward.__get__(module))
        compiled = torch.compile(layer, dynamic=False, **how)
        batch = 1 if variant == "whole, batch 1" else 4
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            got = compiled(args[0][:batch], *args[1:]).float()
        rels = " ".join(f"{((got[i] - want[i]).norm() / want[i].norm()).item():.1e}" for i in range(batch))
        print(f"{variant}: compiled vs eager rel per image {rels}", flush=True)
        for obj, attr, value in saved:
            if value is None:
                delattr(obj, attr)
            else:
                setattr(obj, attr, value)


if __name__ == "__main__":
    main()

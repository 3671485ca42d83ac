"""Why MambaIRv2 Base at 4K in tiles of 270 drifted (rel L2 3.6e-3 vs 6.3e-4 the day before): the depthwise
kernel at the tile shapes against PyTorch, then the model's bf16 path with the kernel on and off against the
float32 reference, in tiles as the benchmark runs it.

    python tools/jobs/v2_4k_precision.py
"""

from __future__ import annotations

import torch

import restore_cli.ops.depthwise_conv as depthwise
from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import restore_tensor
from restore_cli.ops.depthwise_conv import tap_table
from restore_cli.ops.depthwise_conv.triton import depthwise_conv_triton


def kernel_checks() -> None:
    for b, h, w, c, stride, k, act, combine in [(4, 272, 272, 348, 352, 5, "gelu", "add"),
                                                (4, 272, 272, 348, 348, 5, "gelu", "add"),
                                                (4, 270, 270, 174, 176, 3, "sigmoid", "mul"),
                                                (1, 272, 272, 348, 352, 5, "gelu", "add"),
                                                (4, 64, 64, 348, 352, 5, "gelu", "add")]:
        wide = torch.randn(b, h * w, stride, device="cuda", dtype=torch.bfloat16)
        x = wide[..., :c]
        weight, bias = torch.randn(c, 1, k, k, device="cuda") / k, torch.randn(c, device="cuda") * 0.1
        args = dict(padding=k // 2, activation=act, combine=combine)
        ref = depthwise.depthwise_conv_tokens_reference(x.float(), weight, bias, (h, w), **args)
        got = depthwise_conv_triton(x, tap_table(weight), bias, h, w, **args).float()
        rel = ((got - ref).norm() / ref.norm()).item()
        worst = (got - ref).abs().flatten().argmax().item()
        print(f"kernel B{b} {h}x{w} C{c} stride {stride} k{k}: rel {rel:.1e}, worst at token "
              f"{worst // c % (h * w)} of image {worst // c // (h * w)}, channel {worst % c}", flush=True)


def model_checks() -> None:
    dev = torch.device("cuda")
    net = seeded_model("mambairv2-base-x4", dev)
    x = photo_input(540, 960, torch.device("cpu"))
    shipped = depthwise.use_triton
    outputs = {}
    for name, precision, kernel in [("reference fp32", "fp32", True), ("bf16 kernel", "bf16", True),
                                    ("bf16 cuDNN", "bf16", False)]:
        configure_scan(net, backend="triton", fused_cross_scan=name != "reference fp32")
        depthwise.use_triton = shipped if kernel else (lambda t: False)
        model = wrap_module(net, arch="mambairv2-base-x4", device=dev, precision=precision, cuda_graphs=False,
                            compile=False)
        for tile, batch in [(270, 4), (270, 1), (0, 1)]:
            out = restore_tensor(model, x, tile=tile, overlap=16, batch_size=batch)
            outputs[name, tile, batch] = out
            ref = outputs.get(("reference fp32", tile, batch))
            if ref is not None and name != "reference fp32":
                d = out - ref
                print(f"{name} tiles {tile} batch {batch}: rel {(d.norm() / ref.norm()).item():.1e}, "
                      f"max abs {d.abs().max().item():.1e}", flush=True)
    depthwise.use_triton = shipped


if __name__ == "__main__":
    kernel_checks()
    model_checks()

"""Which part of a compiled MambaIRv2 Base layer (aligned widths) drifts for a batch of four 192x256 tiles:
each module compiled alone (as ``compile_blocks`` compiles, same options) against its uncompiled self on
the same captured inputs, bf16 autocast, batch 4 and batch 1. The uncompiled aligned network is right at
both batch sizes (``v2_aligned_batch_precision.py``).

    python tools/jobs/v2_layer_batch_bisect.py
"""

from __future__ import annotations

import torch
from v2_drift_case import drift_network

from restore_cli.engine.compile import compile_options


class AttentionHalf(torch.nn.Module):
    """A layer's window-attention half: ``x + proj(attention(wqkv(norm1(x))))``."""

    def __init__(self, layer) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x, x_size, attn_mask, rpi):
        from restore_cli.archs.mambair_v2 import attention_bias, window_attention

        layer, mhsa = self.layer, self.layer.win_mhsa
        b, n, c = x.shape
        qkv = layer.wqkv(layer.norm1(x)).reshape(b, *x_size, -1)
        bias = attention_bias(mhsa.relative_position_bias_table, rpi)
        attn = window_attention(qkv, bias, num_heads=mhsa.num_heads, window_size=layer.window_size,
                                shift=layer.shift_size, scale=mhsa.scale)
        return mhsa.proj(attn).reshape(b, n, c) + x


def main() -> None:
    net, tiles = drift_network()
    layers = net.layers[0].residual_group.layers
    targets = {"layer1": layers[1], "layer1.attention": AttentionHalf(layers[1]), "layer1.assm": layers[1].assm,
               "layer1.convffn1": layers[1].convffn1, "layer1.convffn2": layers[1].convffn2,
               "layer3.attention": AttentionHalf(layers[3]), "layer2.attention": AttentionHalf(layers[2])}
    captured: dict[str, tuple] = {}

    def hook(name):
        def capture(module, args, kwargs):
            captured.setdefault(name, (args, kwargs))
        return capture

    hooked = {n: (m.layer if isinstance(m, AttentionHalf) else m) for n, m in targets.items()}
    handles = [m.register_forward_pre_hook(hook(n), with_kwargs=True) for n, m in hooked.items()]
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        net(tiles)
    for h in handles:
        h.remove()
    options = compile_options(net)
    how = {"options": options} if options else {}
    for name, module in targets.items():
        args, kwargs = captured[name]
        compiled = torch.compile(module, dynamic=False, **how)
        for batch in (4, 1):
            a = tuple(t[:batch] if isinstance(t, torch.Tensor) and t.dim() == 3 and t.shape[0] == 4 else t
                      for t in args)
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                want = module(*a, **kwargs).float()
                got = compiled(*a, **kwargs).float()
            rels = " ".join(f"{((got[i] - want[i]).norm() / want[i].norm()).item():.1e}" for i in range(batch))
            print(f"{name} batch {batch}: compiled vs eager rel per image {rels}", flush=True)


if __name__ == "__main__":
    main()

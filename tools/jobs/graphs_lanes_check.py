"""Why tests/engine/test_graphs.py::test_replay_equals_eager_and_follows_new_inputs failed on the GPU: the
tiny MambaIR's output compared between two eager runs, with the route lanes, without, and with the
four-route scan's PyTorch reference (no float32 atomics) in place of the Triton kernel."""

import torch
from test_graphs import TINY_MAMBAIR, GraphedForward, from_official

from restore_cli.ops.scan import triton as scan
from restore_cli.ops.scan.cross import cross_selective_scan_tokens

real_lanes, real_cross = scan.use_route_lanes, scan.selective_scan_cross_tokens_triton


def reference_cross(tokens, delta, A, B, C, D=None, delta_bias=None, delta_softplus=False, *, width, **_):
    height = tokens.shape[1] // width
    return cross_selective_scan_tokens(tokens, delta, A, B, C, D, delta_bias, delta_softplus, height=height,
                                       width=width, backend="reference").float()


for mode in ("route lanes", "blocks", "reference scan"):
    scan.use_route_lanes = real_lanes if mode == "route lanes" else (lambda *args: False)
    scan.selective_scan_cross_tokens_triton = reference_cross if mode == "reference scan" else real_cross
    torch.manual_seed(0)
    net = from_official("MambaIR", TINY_MAMBAIR).cuda().eval()
    graphs = GraphedForward()
    xs = [torch.rand(1, 3, 16, 20, device="cuda") for _ in range(4)]
    with torch.inference_mode():
        outs = [graphs(net, x).clone() for x in xs]
        refs = [net(x) for x in xs]
        again = [net(x) for x in xs]
    graph_err = max((o - r).abs().max().item() for o, r in zip(outs, refs, strict=True))
    eager_err = max((a - r).abs().max().item() for a, r in zip(again, refs, strict=True))
    scale = max(r.abs().max().item() for r in refs)
    print(f"{mode}: graph vs eager {graph_err:.2e}, eager vs eager {eager_err:.2e}, max |out| {scale:.2f}")

"""Bisect the compiled MambaIRv2 batch drift with PyTorch's compiler bisector.

Compiled MambaIRv2 Base layer 1 (shifted windows) given four 192x256 tiles at once drifts from the
uncompiled layer (rel L2 2e-2 against 8e-4) in some processes (``perf16-v2-batch-drift.txt``); with the
route's GEMMs in float32 (the sixteenth session's routing, restored here by :class:`Float32Route`) it did
so in all of six fresh processes (``perf17-v2-routing.txt``), which makes it a reproducer.
``CompilerBisector`` then reruns the comparison while turning Inductor's subsystems off one by one (eager /
aot_eager / decompositions / graph passes / precision-cast emulation / layout / padding / lowerings) and
names the first that brings the drift.

    TORCHINDUCTOR_FORCE_DISABLE_CACHES=1 python tools/jobs/v2_drift_bisect.py
"""

from __future__ import annotations

import torch
from torch import nn
from torch._inductor.compiler_bisector import CompilerBisector
from v2_drift_case import drift_case

from restore_cli.engine.compile import compile_options


class Float32Route(nn.Module):
    """The route's GEMMs in float32 under autocast (``ASSM.forward`` calls ``route[:3]`` then ``route[3]``)."""

    def __init__(self, route: nn.Sequential) -> None:
        super().__init__()
        self.inner = route

    def __getitem__(self, index):
        part = self.inner[index]
        if not isinstance(index, slice):
            return part

        def float32_part(x: torch.Tensor) -> torch.Tensor:
            with torch.autocast("cuda", enabled=False):
                return part(x.float())

        return float32_part


def main() -> None:
    def float32_route(layer: nn.Module) -> None:
        layer.assm.route = Float32Route(layer.assm.route)

    net, layer, args = drift_case(float32_route)
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        want = layer(*args).float()
    options = compile_options(net)
    how = {"options": options} if options else {}

    def agrees() -> bool:
        torch._dynamo.reset()
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            got = torch.compile(layer, dynamic=False, **how)(*args).float()
        rels = [((got[i] - want[i]).norm() / want[i].norm()).item() for i in range(got.shape[0])]
        print("compiled vs eager rel per image " + " ".join(f"{r:.1e}" for r in rels), flush=True)
        return max(rels) < 3e-3

    print(f"reproduces: {not agrees()}", flush=True)
    print(f"bisection: {CompilerBisector.do_bisect(agrees)}", flush=True)


if __name__ == "__main__":
    main()

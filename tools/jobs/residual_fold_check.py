"""The fold test's numbers for one parity case (tests/engine/test_fold.py): bf16 error against float32 before
folding, and after folding with MambaIR's residual updates by the Triton kernel and by PyTorch's ops,
three times each (the four-route scan's atomic adds make each run differ).

    python tools/jobs/residual_fold_check.py unet_realdn
"""

from __future__ import annotations

import functools
import sys

import torch

sys.path.insert(0, "tests/engine")
from test_fold import _network

from restore_cli.archs import mambair
from restore_cli.archs.layers import fold_inference_weights
from restore_cli.engine.model import store_matmul_weights_in
from restore_cli.ops.residual import scaled_residual


def main(name: str) -> None:
    net, x = _network(name)
    net, x = net.cuda(), x.cuda()
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        reference = net(x).float()

        def error() -> float:
            return ((net(x).float() - reference).norm() / reference.norm()).item()

        with torch.autocast("cuda", dtype=torch.bfloat16):
            before = [error() for _ in range(3)]
            store_matmul_weights_in(net, torch.bfloat16)
            fold_inference_weights(net)
            kernel = [error() for _ in range(3)]
            mambair.scaled_residual = functools.partial(scaled_residual, backend="reference")
            torch_ops = [error() for _ in range(3)]
    print(f"{name}: before folding {before}, folded + residual kernel {kernel}, folded + PyTorch ops {torch_ops}")


if __name__ == "__main__":
    main(sys.argv[1])

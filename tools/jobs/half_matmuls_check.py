"""Which step changes MambaIRv2's CUDA output (tests/engine/test_half_matmuls.py's engine test): the blocks'
convolutions stored in bf16, then the folding; max |difference| after each, against autocast's casts."""

from __future__ import annotations

import sys

import torch

sys.path.insert(0, "tests/engine")
from test_half_matmuls import _network

from restore_cli.archs.layers import fold_inference_weights
from restore_cli.engine.model import store_matmul_weights_in

net, x = _network("v2_sr_x4_ws16")
net, x = net.cuda(), x.cuda()
with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
    want = net(x)
    again = net(x)
    print(f"repeat: {(again - want).abs().max().item():.3e}")
    print("cast layers", store_matmul_weights_in(net, torch.bfloat16))
    print(f"after the casts: {(net(x) - want).abs().max().item():.3e}")
    print("folded", fold_inference_weights(net))
    print(f"after folding: {(net(x) - want).abs().max().item():.3e}")

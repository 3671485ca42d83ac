"""Two launches of the state-lanes scan at MambaIR classic's four routes (180x320, E 360, bf16), for Nsight
Compute (the second is the one to read): ``ncu -k regex:scan_state_lanes --launch-skip 1 ...
python tools/jobs/state_lanes_ncu.py [warps] [tile]``."""

import sys

import torch

from restore_cli.ops.scan import state_lanes as sl

warps, tile = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (sl.WARPS, sl.TILE)
gen = torch.Generator("cuda").manual_seed(0)
length, dim, n = 180 * 320, 360, 16
u = torch.randn(1, length, dim, generator=gen, device="cuda").bfloat16()
delta = (torch.randn(1, length, 4 * dim, generator=gen, device="cuda") * 0.5 - 1).bfloat16()
A = -torch.exp(torch.randn(4 * dim, n, generator=gen, device="cuda") * 0.5)
bc = torch.randn(1, length, 4, 2 * n, generator=gen, device="cuda").bfloat16()
D = torch.randn(4 * dim, device="cuda")
for _ in range(2):
    sl.selective_scan_cross_tokens_state_lanes(u, delta, A, bc[..., :n], bc[..., n:], D, D * 0.1, True, width=320,
                                               warps=warps, tile=tile)
torch.cuda.synchronize()

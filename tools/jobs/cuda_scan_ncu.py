"""One launch each of the CUDA scan and the Triton scan at MambaIR classic's four routes (180x320, E 360,
bf16), for Nsight Compute: ``ncu -k regex:'scan_tokens|_scan_chunk' python tools/jobs/cuda_scan_ncu.py``."""

import torch

from restore_cli.ops.scan import cuda as cs
from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton

gen = torch.Generator("cuda").manual_seed(0)
length, dim, n = 180 * 320, 360, 16
u = torch.randn(1, length, dim, generator=gen, device="cuda").bfloat16()
delta = (torch.randn(1, length, 4 * dim, generator=gen, device="cuda") * 0.5 - 1).bfloat16()
A = -torch.exp(torch.randn(4 * dim, n, generator=gen, device="cuda") * 0.5)
bc = torch.randn(1, length, 4, 2 * n, generator=gen, device="cuda").bfloat16()
D = torch.randn(4 * dim, device="cuda")
args = (u, delta, A, bc[..., :n], bc[..., n:], D, D * 0.1, True)
cs.selective_scan_cross_tokens_cuda(*args, width=320)
selective_scan_cross_tokens_triton(*args, width=320)
torch.cuda.synchronize()

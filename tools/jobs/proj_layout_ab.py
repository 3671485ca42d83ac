"""A candidate layout of SS2D's projection, measured and not adopted (2026-11-25, perf26f): four [B, C] pairs
then the routes' rank columns together (the delta GEMM could read them in place: light 160 -> 144 columns,
classic 192 -> 176), against the per-route [B, C, rank] rows the model keeps: wall time through the engine,
bf16 + ``--compile``, one case per process. It measured as noise (light 10.35 / 10.51 -> 10.42 / 10.43 ms,
classic 68.37 / 68.39 -> 68.29 / 68.47 ms).

    python tools/jobs/proj_layout_ab.py "MambaIR light SR x4, 720p out" [--candidate] [--repeats 7]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from restore_cli import bench
from restore_cli.archs import mambair
from restore_cli.archs.layers import conv_on_tokens, folded_weight

K = mambair.NUM_DIRECTIONS


def projection_weight_pairs_first(self) -> torch.Tensor:
    """Per route [B, pad, C, pad] (multiples of 8), then the four routes' rank rows, zero-padded to 8."""
    e, n, r = self.d_inner, self.d_state, self.dt_rank
    n8 = -(-n // 8) * 8
    weight = self.x_proj_weight
    zeros = weight.new_zeros(K, n8 - n, e)
    pairs = torch.cat([weight[:, r : r + n], zeros, weight[:, r + n :], zeros], dim=1).reshape(-1, e)
    return torch.cat([pairs, weight[:, :r].reshape(-1, e), weight.new_zeros(-(K * r) % 8, e)])


def forward_fused_pairs_first(self, x: torch.Tensor) -> torch.Tensor:
    from restore_cli.ops.scan.cross import cross_selective_scan_tokens

    b, h, w, _ = x.shape
    e, n, r, length = self.d_inner, self.d_state, self.dt_rank, h * w
    x, z = self.in_proj(x).chunk(2, dim=-1)
    tokens = conv_on_tokens(self.conv2d, x.reshape(b, length, e), (h, w), activation="silu")
    n8 = -(-n // 8) * 8
    weight = folded_weight(self, "projection")
    proj = F.linear(tokens, self.projection_weight() if weight is None else weight)
    pairs = proj[..., : K * 2 * n8].view(b, length, K, 2 * n8)
    delta_low = proj[..., K * 2 * n8 : K * (2 * n8 + r)]  # read in place
    weight = folded_weight(self, "delta")
    delta = F.linear(delta_low, torch.block_diag(*self.dt_projs_weight) if weight is None else weight)
    a = folded_weight(self, "A")
    y = cross_selective_scan_tokens(tokens, delta, -torch.exp(self.A_logs.float()) if a is None else a,
                                    pairs[..., :n], pairs[..., n8 : n8 + n], self.Ds.float(),
                                    delta_bias=self.dt_projs_bias.float().reshape(-1), delta_softplus=True,
                                    height=h, width=w, backend=self.scan_backend)
    y = self.out_norm(y.view(b, h, w, e)) * F.silu(z)
    return self.out_proj(y)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("label")
    parser.add_argument("--candidate", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    # The candidate's forward predates the aligned blocks (twenty-seventh session): both sides run unaligned.
    mambair.VSSBlock.runs_aligned = lambda self, x: False
    if args.candidate:
        mambair.SS2D.projection_weight = projection_weight_pairs_first
        mambair.SS2D.forward_fused = forward_fused_pairs_first
    cases = [c for c in bench.DEFAULT_CASES if c.label == args.label]
    rows = bench.run_benchmark(cases, repeats=args.repeats, paths=["reference", "bf16+compile"], log=lambda *_: None)
    for row in rows[1:]:
        print(f"{'candidate' if args.candidate else 'model    '} {row.case}: {row.ms:.2f} ms, rel L2 {row.rel_l2:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

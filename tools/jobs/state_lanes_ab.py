"""GPU check and A/B timing of the one-walk, lanes-across-states scan (``restore_cli/ops/scan/state_lanes.cu``)
against the Triton kernel: correctness against the float32 reference on random shapes (float32: rel L2
<= 1e-5; bf16/fp16: within 1.5x the Triton kernel's error), then CUDA-graph medians at MambaIR sizes.

    python tools/jobs/state_lanes_ab.py [--quick] [--configs 4x64,2x128,...]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys

import torch

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan import state_lanes as sl
from restore_cli.ops.scan.cross import cross_selective_scan_tokens
from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30)).item()


def operands(batch, length, dim, n_state, dtype, gen, bc_pad=0, token_pad=0):
    """Cross-scan operands shaped as MambaIR v1's projections give them (B/C slices of one tensor)."""
    dev = "cuda"
    u = torch.randn(batch, length, dim + token_pad, generator=gen, device=dev).to(dtype)[..., :dim]
    delta = (torch.randn(batch, length, 4 * dim, generator=gen, device=dev) * 0.5 - 1.0).to(dtype)
    A = -torch.exp(torch.randn(4 * dim, n_state, generator=gen, device=dev) * 0.5)
    bc = torch.randn(batch, length, 4, 2 * n_state + bc_pad, generator=gen, device=dev).to(dtype)
    B, C = bc[..., :n_state], bc[..., n_state:2 * n_state]
    D = torch.randn(4 * dim, generator=gen, device=dev)
    bias = torch.randn(4 * dim, generator=gen, device=dev) * 0.3
    return u, delta, A, B, C, D, bias


def check(cases, warps_list) -> bool:
    ok = True
    gen = torch.Generator("cuda").manual_seed(1)
    for batch, height, width, dim, n_state, dtype, bc_pad, token_pad, use_d, use_bias, softplus in cases:
        u, delta, A, B, C, D, bias = operands(batch, height * width, dim, n_state, dtype, gen, bc_pad, token_pad)
        if not softplus:  # raw deltas must be positive (decays <= 1)
            delta = delta.abs() * 0.1
        D = D if use_d else None
        bias = bias if use_bias else None
        ref = cross_selective_scan_tokens(u, delta, A, B, C, D, bias, softplus, height=height, width=width,
                                          backend="reference")
        tri = selective_scan_cross_tokens_triton(u, delta, A, B, C, D, bias, softplus, width=width)
        err_tri = rel_l2(tri, ref)
        tol = 1e-5 if dtype == torch.float32 else 1.5 * err_tri + 1e-4
        for warps, tile in warps_list:
            out = sl.selective_scan_cross_tokens_state_lanes(u, delta, A, B, C, D, bias, softplus, width=width,
                                                             warps=warps, tile=tile)
            err = rel_l2(out, ref)
            good = err <= tol and out.dtype == torch.float32 and bool(torch.isfinite(out).all())
            ok &= good
            print(f"cross b{batch} {height}x{width} E{dim} N{n_state} {str(dtype)[6:]:8s} pad{bc_pad}/{token_pad} "
                  f"D{int(use_d)} bias{int(use_bias)} sp{int(softplus)} {warps}x{tile}: rel L2 {err:.2e} "
                  f"(triton {err_tri:.2e}) {'OK' if good else 'FAIL'}", flush=True)
    return ok


def bench(warps_list, reps: int = 5) -> None:
    gen = torch.Generator("cuda").manual_seed(2)
    print("| four routes, bf16 | triton | " + " | ".join(f"state lanes, {w} warps x {t}" for w, t in warps_list) + " |")
    print("|---" * (2 + len(warps_list)) + "|")
    for name, height, width, dim in [
        ("MambaIR classic 180x320 E360", 180, 320, 360),
        ("MambaIR light 180x320 E120", 180, 320, 120),
        ("colour DN 720x1280 E360", 720, 1280, 360),
        ("classic 4K out, 540x960 E360", 540, 960, 360),
        ("classic tile 208x264 E360 x4", 208, 264 * 4, 360),
    ]:
        args = operands(1, height * width, dim, 16, torch.bfloat16, gen)
        fns = {"triton": functools.partial(selective_scan_cross_tokens_triton, *args, True, width=width)}
        for w, t in warps_list:
            fns[w, t] = functools.partial(sl.selective_scan_cross_tokens_state_lanes, *args, True, width=width,
                                          warps=w, tile=t)
        want = fns["triton"]()
        errs = {k: rel_l2(f(), want) for k, f in fns.items() if k != "triton"}
        calls = 3 if height * width > 200_000 else 10
        times = {k: [] for k in fns}
        for _ in range(reps):  # interleaved
            for k, f in fns.items():
                times[k].append(cuda_graph_us(f, calls=calls))
        cells = [f"{statistics.median(times['triton']) / 1e3:.3f} ms"]
        cells += [f"{statistics.median(times[w]) / 1e3:.3f} ms ({errs[w]:.0e})" for w in warps_list]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--configs", default="4x64,2x128,4x128,8x64", help="warps x tile, comma-separated")
    args = parser.parse_args()
    warps_list = [tuple(int(v) for v in c.split("x")) for c in args.configs.split(",")]
    print(torch.__version__, torch.cuda.get_device_name(), flush=True)
    try:  # the compile error, if any, in full
        sl._kernel(0, 1, 1, 1, 16, sl.WARPS, sl.TILE, True, True)
    except Exception:
        import traceback

        traceback.print_exc()
    print("available:", sl.state_lanes_available(), flush=True)
    f32, bf16, f16 = torch.float32, torch.bfloat16, torch.float16
    ok = check([
        (1, 5, 7, 8, 16, f32, 3, 0, True, True, True),
        (1, 17, 23, 12, 16, f32, 0, 5, True, True, True),
        (2, 20, 31, 36, 16, f32, 2, 0, True, False, True),
        (1, 64, 64, 16, 16, f32, 0, 0, False, True, False),
        (1, 33, 129, 20, 16, f32, 0, 0, True, True, True),
        (1, 33, 29, 24, 16, bf16, 3, 0, True, True, True),
        (1, 70, 90, 40, 16, bf16, 0, 3, True, True, True),
        (1, 40, 50, 16, 8, f16, 0, 0, True, True, True),
        (1, 40, 50, 17, 13, f16, 1, 0, True, True, True),
        (2, 48, 80, 72, 16, bf16, 0, 0, True, True, True),
    ], warps_list)
    print("correctness", "OK" if ok else "FAILED", flush=True)
    if not args.quick:
        bench(warps_list)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

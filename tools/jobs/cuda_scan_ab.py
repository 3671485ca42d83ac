"""GPU check and A/B timing of the NVRTC CUDA scan (``restore_cli/ops/scan/scan_tokens.cu``) against the
Triton kernel: correctness against the float32 reference on random shapes, then medians at MambaIR sizes.

    python tools/jobs/cuda_scan_ab.py [--quick] [--configs 8x8x3,4x8x3,...]   (items x channels x min_blocks)
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys

import torch

from restore_cli.ops.scan import cuda as cs
from restore_cli.ops.scan import selective_scan_reference
from restore_cli.ops.scan.cross import cross_selective_scan_tokens
from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton, selective_scan_tokens_triton


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30)).item()


def operands(batch, length, dim, n_state, dtype, groups=1, gen=None, bc_pad=0):
    dev = "cuda"
    u = torch.randn(batch, length, dim, generator=gen, device=dev).to(dtype)
    delta = (torch.randn(batch, length, groups * dim, generator=gen, device=dev) * 0.5 - 1.0).to(dtype)
    A = -torch.exp(torch.randn(groups * dim, n_state, generator=gen, device=dev) * 0.5)
    bc = torch.randn(batch, length, groups, 2 * n_state + bc_pad, generator=gen, device=dev).to(dtype)
    B, C = bc[..., :n_state], bc[..., n_state:2 * n_state]
    D = torch.randn(groups * dim, generator=gen, device=dev)
    bias = torch.randn(groups * dim, generator=gen, device=dev) * 0.3
    return u, delta, A, B, C, D, bias


def check_tokens(cases) -> bool:
    ok = True
    gen = torch.Generator("cuda").manual_seed(0)
    for batch, length, dim, n_state, dtype, splits, items, channels, use_d, use_bias in cases:
        u, delta, A, B, C, D, bias = operands(batch, length, dim, n_state, dtype, gen=gen)
        B, C = B[:, :, 0], C[:, :, 0]
        D = D if use_d else None
        bias = bias if use_bias else None
        ref = selective_scan_reference(u.transpose(1, 2).float(), delta.transpose(1, 2).float(), A,
                                       B.transpose(1, 2).float(), C.transpose(1, 2).float(), D, bias, True)
        ref = ref.transpose(1, 2)
        out = cs.selective_scan_tokens_cuda(u, delta, A, B, C, D, bias, True, n_splits=splits, items=items,
                                            channels=channels)
        tri = selective_scan_tokens_triton(u, delta, A, B, C, D, bias, True)
        err, err_tri = rel_l2(out, ref), rel_l2(tri, ref)
        tol = 1e-5 if dtype == torch.float32 else 1.5 * err_tri + 1e-4
        good = err <= tol and out.dtype == u.dtype and torch.isfinite(out).all().item()
        ok &= good
        print(f"tokens b{batch} L{length} d{dim} N{n_state} {str(dtype)[6:]:8s} splits {splits} K{items} CT{channels} "
              f"D{int(use_d)} bias{int(use_bias)}: rel L2 {err:.2e} (triton {err_tri:.2e}) {'OK' if good else 'FAIL'}")
    return ok


def check_cross(cases) -> bool:
    ok = True
    gen = torch.Generator("cuda").manual_seed(1)
    for batch, height, width, dim, n_state, dtype, splits, items, channels, bc_pad in cases:
        u, delta, A, B, C, D, bias = operands(batch, height * width, dim, n_state, dtype, groups=4, gen=gen,
                                              bc_pad=bc_pad)
        ref = cross_selective_scan_tokens(u, delta, A, B, C, D, bias, True, height=height, width=width,
                                          backend="reference")
        out = cs.selective_scan_cross_tokens_cuda(u, delta, A, B, C, D, bias, True, width=width, n_splits=splits,
                                                  items=items, channels=channels)
        tri = selective_scan_cross_tokens_triton(u, delta, A, B, C, D, bias, True, width=width)
        err, err_tri = rel_l2(out, ref), rel_l2(tri, ref)
        tol = 1e-5 if dtype == torch.float32 else 1.5 * err_tri + 1e-4
        good = err <= tol and out.dtype == torch.float32
        ok &= good
        print(f"cross b{batch} {height}x{width} E{dim} N{n_state} {str(dtype)[6:]:8s} splits {splits} K{items} "
              f"CT{channels} pad{bc_pad}: rel L2 {err:.2e} (triton {err_tri:.2e}) {'OK' if good else 'FAIL'}")
    return ok


def median_ms(fn, reps: int = 15) -> float:
    fn()
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def bench(configs) -> None:
    gen = torch.Generator("cuda").manual_seed(2)
    dtype = torch.bfloat16
    print("| case | triton | " + " | ".join(f"cuda K{k} CT{c} mb{m} s{s}" for k, c, m, s in configs) + " |")
    for name, kind, length, dim, n_state, width in [
        ("v1 classic 4 routes 180x320 E360", "cross", 180 * 320, 360, 16, 320),
        ("v1 light 4 routes 180x320 E120", "cross", 180 * 320, 120, 16, 320),
        ("v2 Base tokens 180x320 E348", "tokens", 180 * 320, 348, 16, 0),
        ("v2 light tokens 180x320 E96 N8", "tokens", 180 * 320, 96, 8, 0),
        ("DN 4 routes 720x1280 E360", "cross", 720 * 1280, 360, 16, 1280),
    ]:
        groups = 4 if kind == "cross" else 1
        u, delta, A, B, C, D, bias = operands(1, length, dim, n_state, dtype, groups=groups, gen=gen)
        args = (u, delta, A, B, C, D, bias, True)
        if kind == "tokens":
            args = (u, delta, A, B[:, :, 0], C[:, :, 0], D, bias, True)
            tri = functools.partial(selective_scan_tokens_triton, *args)
        else:
            tri = functools.partial(selective_scan_cross_tokens_triton, *args, width=width)
        ref = tri()
        row = [f"{median_ms(tri):.3f}"]
        for items, channels, min_blocks, splits in configs:
            cs.MIN_BLOCKS_OVERRIDE = min_blocks
            if kind == "tokens":
                cu = functools.partial(cs.selective_scan_tokens_cuda, *args, items=items, channels=channels,
                                       n_splits=splits)
            else:
                cu = functools.partial(cs.selective_scan_cross_tokens_cuda, *args, width=width, items=items,
                                       channels=channels, n_splits=splits)
            try:
                err = rel_l2(cu(), ref)
                row.append(f"{median_ms(cu):.3f} ({err:.0e})")
            except Exception as exc:  # a configuration that does not fit (shared memory, registers)
                row.append(f"n/a {type(exc).__name__}: {str(exc)[:60]}")
        print(f"| {name} | " + " | ".join(row) + " |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--configs", default="8x8x3x0,8x8x2x0,4x8x3x0,8x4x4x0,16x4x3x0,8x8x3x1,8x8x3x2")
    args = parser.parse_args()
    print(torch.__version__, torch.cuda.get_device_name(), flush=True)
    try:  # the compile error, if any, in full
        cs.compile_probe()
    except Exception:
        import traceback

        traceback.print_exc()
    print("available:", cs.cuda_scan_available(), flush=True)
    f32, bf16, f16 = torch.float32, torch.bfloat16, torch.float16
    ok = check_tokens([
        (1, 1, 8, 16, f32, None, 8, 8, True, True),
        (1, 37, 20, 16, f32, None, 8, 8, True, True),
        (2, 300, 64, 16, f32, 1, 8, 8, True, False),
        (2, 300, 64, 16, f32, 3, 8, 8, False, True),
        (1, 2000, 40, 8, f32, 5, 4, 8, True, True),
        (1, 1500, 24, 16, f32, 2, 16, 4, True, True),
        (1, 777, 33, 16, bf16, None, 8, 8, True, True),
        (1, 777, 33, 16, bf16, 4, 8, 8, True, True),
        (2, 1200, 72, 16, f16, 3, 8, 8, True, True),
        (1, 999, 17, 4, f16, None, 4, 4, True, True),
    ])
    ok &= check_cross([
        (1, 5, 7, 8, 16, f32, None, 8, 8, 3),
        (1, 17, 23, 12, 16, f32, 3, 8, 8, 0),
        (2, 20, 31, 36, 16, f32, 2, 4, 8, 3),
        (1, 33, 29, 24, 16, bf16, None, 8, 8, 3),
        (1, 33, 29, 24, 16, bf16, None, 8, 8, 0),
        (1, 33, 29, 40, 16, bf16, 4, 16, 4, 0),
        (1, 40, 50, 16, 8, f16, 2, 8, 8, 0),
        (1, 40, 50, 16, 8, f16, 2, 8, 8, 1),
    ])
    print("correctness", "OK" if ok else "FAILED", flush=True)
    if not args.quick:
        configs = [tuple(int(v) for v in c.split("x")) for c in args.configs.split(",")]
        bench([(k, c, m, s or None) for k, c, m, s in configs])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

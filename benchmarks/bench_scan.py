"""Time the selective-scan backends against the per-step reference on MambaIR-sized inputs.

Prints one row per (backend, shape): the median of ``--repeats`` timed calls (after one warm-up), the
speed-up over the reference timed in the same run, and the maximum error relative to the reference's
largest output (``max|y - y_ref| / max|y_ref|``). Inputs follow MambaIR's initialisation (``A = -[1..N]``,
Mamba's ``dt`` bias, ``delta_softplus=True``, D = 1) so decays span the range trained models see.

    python benchmarks/bench_scan.py                  # CPU: reference and chunked PyTorch
    python benchmarks/bench_scan.py --device cuda    # also Triton and mamba-ssm (when installed)

The CPU timings are wall-clock with torch's default thread count; on a machine shared with other
busy processes, multi-threaded ops wait for cores, so compare rows of one run only.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from restore_cli.ops.scan import mamba_available, triton_available
from restore_cli.ops.scan.reference import selective_scan_reference
from restore_cli.ops.scan.torch_chunked import selective_scan_chunked


@dataclass(frozen=True)
class Shape:
    """One benchmark case: MambaIR v1 (four directions, G = 4) or v2 (G = 1)."""

    name: str
    batch: int
    dim: int
    n_state: int
    length: int
    groups: int

    def __str__(self) -> str:
        return f"{self.name} b{self.batch} d{self.dim} N{self.n_state} L{self.length} G{self.groups}"


SHAPES = (
    Shape("v1", 1, 1440, 16, 4096, 4),  # MambaIR classic SR: 4 x d_inner 360, one 64x64 window
    Shape("v2", 1, 348, 16, 4096, 1),  # MambaIRv2-like
)


def make_inputs(shape: Shape, *, dtype: torch.dtype, device: str, seed: int = 0) -> dict:
    """Random inputs with MambaIR's parameter initialisation (see the module docstring)."""
    gen = torch.Generator().manual_seed(seed)
    b, d, n, length, g = shape.batch, shape.dim, shape.n_state, shape.length, shape.groups

    def randn(*size: int, scale: float = 1.0) -> torch.Tensor:
        return torch.randn(*size, generator=gen) * scale

    dt_init = torch.exp(torch.rand(d, generator=gen) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
    inputs = {
        "u": randn(b, d, length).to(dtype),
        "delta": randn(b, d, length, scale=0.5).to(dtype),
        "A": -torch.arange(1, n + 1, dtype=torch.float32).repeat(d, 1),
        "B": randn(b, g, n, length).to(dtype) if g > 1 else randn(b, n, length).to(dtype),
        "C": randn(b, g, n, length).to(dtype) if g > 1 else randn(b, n, length).to(dtype),
        "D": torch.ones(d),
        "delta_bias": dt_init + torch.log(-torch.expm1(-dt_init)),  # inverse softplus, as Mamba does
        "delta_softplus": True,
    }
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}


def backends(device: str) -> dict[str, Callable[..., torch.Tensor]]:
    """The backends that can run on ``device``, by name."""
    found: dict[str, Callable[..., torch.Tensor]] = {
        "reference": selective_scan_reference,
        "torch": selective_scan_chunked,
    }
    if device == "cuda" and triton_available():
        from restore_cli.ops.scan.triton import selective_scan_triton

        found["triton"] = selective_scan_triton
    if device == "cuda" and mamba_available():
        from restore_cli.ops.scan import selective_scan

        found["mamba"] = lambda *a, **k: selective_scan(*a, **k, backend="mamba")
    return found


def time_call(
    fn: Callable[[], torch.Tensor], repeats: int, device: str, *, warmup: bool = True
) -> tuple[float, torch.Tensor]:
    """Median wall time in ms of ``repeats`` calls (after one warm-up call if asked), and the last output."""
    if warmup:  # first calls pay for Triton compilation and allocator growth
        fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> None:
    """Parse options, time every backend on every shape, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per backend (median shown)")
    parser.add_argument("--ref-repeats", type=int, default=1, help="timed calls of the slow reference")
    parser.add_argument("--length", type=int, default=4096, help="sequence length L")
    parser.add_argument("--sweep", action="store_true", help="CUDA: also time Triton launch settings")
    parser.add_argument("--sweep-cross", action="store_true", help="CUDA: time fused cross-scan settings")
    parser.add_argument("--cross-only", action="store_true", help="CUDA: only the four-route scan cases")
    parser.add_argument("--profile-cross", action="store_true",
                        help="CUDA: GPU time of each kernel of the fused four-route scan (torch.profiler)")
    parser.add_argument("--ab", action="append", default=[], metavar="SETTING",
                        help="CUDA: time the fused four-route scan under launch settings, interleaved (repeat: "
                             "--ab default --ab prefetch=1 --ab prefetch=2,n_chunks=256); the first is the baseline")
    parser.add_argument("--rounds", type=int, default=9, help="--ab: interleaved rounds (median shown)")
    parser.add_argument("--cross-dim", type=int, default=360,
                        help="d_inner of the cross-scan case (MambaIR classic 360, light 120)")
    parser.add_argument("--tokens-dim", type=int, default=0,
                        help="--ab: time MambaIRv2's one-route token scan of this many channels (Base 348, "
                             "light 96) instead of the four-route scan")
    args = parser.parse_args(argv)
    dtype = getattr(torch, args.dtype)
    gpu_only = args.ab or args.profile_cross or args.cross_only or args.sweep_cross
    if (args.device == "cuda" or gpu_only) and not torch.cuda.is_available():
        parser.error("--device cuda, --cross-only, --sweep-cross, --profile-cross and --ab need a CUDA device")
    if args.ab:
        try:
            settings = [parse_setting(text) for text in args.ab]
        except ValueError as err:
            parser.error(str(err))
        print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, {args.dtype}, interleaved medians")
        print(f"{'setting':<28} {'shape':<22} {'median ms':>9} {'vs first':>9} {'rel L2':>12}")
        ab_cross(settings, dtype, dim=args.tokens_dim or args.cross_dim, rounds=args.rounds,
                 one_route=bool(args.tokens_dim))
        return

    print(f"torch {torch.__version__}, {args.device}, threads {torch.get_num_threads()}, {args.dtype}")
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.2f} (other busy processes slow multi-threaded rows)")
    header = f"{'backend':<10} {'shape':<30} {'median ms':>10} {'speed-up':>9} {'max rel err':>12}"
    print(header)
    print("-" * len(header))
    if args.profile_cross:
        profile_cross(dtype, dim=args.cross_dim)
        return
    if args.cross_only:
        time_cross(dtype, args.repeats, sweep=args.sweep_cross, dim=args.cross_dim)
        return
    for base in SHAPES:
        shape = Shape(base.name, base.batch, base.dim, base.n_state, args.length, base.groups)
        inputs = make_inputs(shape, dtype=dtype, device=args.device)
        ref_ms = ref = None
        for name, fn in backends(args.device).items():
            repeats = args.ref_repeats if name == "reference" else args.repeats
            warmup = name != "reference" or args.device == "cuda"
            call = functools.partial(fn, **inputs)
            ms, out = time_call(call, repeats, args.device, warmup=warmup)
            if name == "reference":
                ref_ms, ref = ms, out.float()
            err = ((out.float() - ref).abs().max() / ref.abs().max()).item()
            print(f"{name:<10} {shape!s:<30} {ms:>10.1f} {ref_ms / ms:>8.1f}x {err:>12.2e}")
        if args.sweep and args.device == "cuda" and triton_available():
            sweep_triton(inputs, ref, ref_ms, shape, args.repeats)
    if args.device == "cuda" and triton_available():
        time_cross(dtype, args.repeats, sweep=args.sweep_cross, dim=args.cross_dim)


def sweep_triton(inputs: dict, ref: torch.Tensor, ref_ms: float, shape: Shape, repeats: int) -> None:
    """Time the Triton kernel over warps per program (32 channels each) and time chunks (to pick defaults)."""
    from restore_cli.ops.scan.triton import selective_scan_triton

    for num_warps in (1, 2, 4):
        for n_chunks in (1, 8, 16, 32, 64, 128):
            call = functools.partial(selective_scan_triton, **inputs, n_chunks=n_chunks, num_warps=num_warps)
            ms, out = time_call(call, repeats, "cuda")
            err = ((out.float() - ref).abs().max() / ref.abs().max()).item()
            label = f"tri w{num_warps} c{n_chunks}"
            print(f"{label:<20} {shape!s:<30} {ms:>10.3f} {ref_ms / ms:>8.1f}x {err:>12.2e}")


CROSS_HEIGHT, CROSS_WIDTH = 180, 320  # MambaIR v1's tokens for a 720p x4 output


def cross_inputs(dtype: torch.dtype, dim: int, device: str = "cuda") -> tuple:
    """Arguments of the channel-last four-route scan at 180x320 with E = ``dim``, N = 16, laid out as
    ``SS2D.forward_fused`` makes them: tokens (1, L, E), δ (1, L, 4E), B and C slices of one projection
    output whose rows are [B, C, δ rank 12, padding to a multiple of 8]. Seeded: every call is the same."""
    gen = torch.Generator().manual_seed(0)
    e, n, rank, length = dim, 16, 12, CROSS_HEIGHT * CROSS_WIDTH
    tokens = torch.randn(1, length, e, generator=gen).to(dtype).to(device)
    delta = (torch.randn(1, length, 4 * e, generator=gen) * 0.5 - 2).to(dtype).to(device)
    proj = torch.randn(1, length, 4, -(-(rank + 2 * n) // 8) * 8, generator=gen).to(dtype).to(device)
    A = -torch.arange(1, n + 1, dtype=torch.float32).repeat(4 * e, 1).to(device)
    D = torch.ones(4 * e).to(device)
    return tokens, delta, A, proj[..., :n], proj[..., n : 2 * n], D, None, True


def time_cross(dtype: torch.dtype, repeats: int, *, sweep: bool = False, dim: int = 360) -> None:
    """MambaIR v1's four-route scan at the 720p-output x4 size (180x320, E = ``dim``): upstream's copies vs
    the fused kernel reading channel-last operands in place (``sweep``: over warps and time chunks)."""
    from restore_cli.ops.scan.cross import cross_selective_scan_reference, cross_selective_scan_tokens
    from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton

    tokens_args = cross_inputs(dtype, dim)
    tokens, delta, A, B, C, D = tokens_args[:6]
    b, h, w = 1, CROSS_HEIGHT, CROSS_WIDTH

    def image(t: torch.Tensor, *routes: int) -> torch.Tensor:
        return t.reshape(b, h, w, -1).permute(0, 3, 1, 2).reshape(b, *routes, -1, h, w)

    copies = (image(tokens), image(delta, 4), A, image(B, 4), image(C, 4), D, None, True)
    ref = cross_selective_scan_reference(*copies, backend="triton").flatten(2).transpose(1, 2)
    cases = [
        ("cross copies+triton", functools.partial(cross_selective_scan_reference, *copies, backend="triton")),
        ("cross fused tokens", functools.partial(cross_selective_scan_tokens, *tokens_args, height=h, width=w)),
    ]
    for prefetch in (0, 1):  # the default is 2
        cases.append((f"fused, prefetch {prefetch}", functools.partial(
            selective_scan_cross_tokens_triton, *tokens_args, width=w, prefetch=prefetch)))
    if sweep:
        for prefetch in (0, 1, 2):
            for num_warps in (1, 2):
                for n_chunks in (64, 128, 160, 256, 512):
                    fused = functools.partial(selective_scan_cross_tokens_triton, *tokens_args, width=w,
                                              n_chunks=n_chunks, num_warps=num_warps, prefetch=prefetch)
                    cases.append((f"fused p{prefetch} w{num_warps} c{n_chunks}", fused))
    for label, fn in cases:
        ms, out = time_call(fn, repeats, "cuda")
        if out.dim() == 4:
            out = out.flatten(2).transpose(1, 2)
        err = ((out.float() - ref).abs().max() / ref.abs().max()).item()
        print(f"{label:<20} {f'v1 180x320 E{dim} N16':<30} {ms:>10.3f} {'':>9} {err:>12.2e}")


def parse_setting(text: str) -> dict[str, int | None]:
    """``"prefetch=2,n_chunks=256"`` -> launch keyword arguments (``"default"`` -> none; ``None`` allowed).

    Raises:
        ValueError: not ``key=integer`` pairs, or a key the fused scan does not take.
    """
    allowed = {"prefetch", "n_chunks", "num_warps", "block_d"}
    setting: dict[str, int | None] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part == "default":
            continue
        key, sep, value = part.partition("=")
        if not sep or key not in allowed:
            raise ValueError(f"{part!r}: expected key=value with key one of {', '.join(sorted(allowed))}")
        setting[key] = None if value == "None" else int(value)
    return setting


def ab_cross(settings: list[dict[str, int | None]], dtype: torch.dtype, *, dim: int = 360, rounds: int = 9,
             calls: int = 3, one_route: bool = False) -> list[float]:
    """Median ms of the fused four-route scan (``one_route``: MambaIRv2's token scan) under each launch
    setting, timed interleaved: every round times each setting once (``calls`` back-to-back calls between
    two CUDA events), so drift of the GPU's clocks and of other load hits all settings alike (single
    sequential timings of this kernel move by ~15% from run to run). Prints one row per setting: median,
    ratio to the first, rel L2 to the first."""
    from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton, selective_scan_tokens_triton

    args = cross_inputs(dtype, dim)
    if one_route:  # the first route's operands as MambaIRv2 lays them out: (1, L, dim), B/C slices
        tokens, delta, A, B, C, D = args[:6]
        args = (tokens, delta[..., :dim], A[:dim], B[:, :, 0], C[:, :, 0], D[:dim], None, True)
        runs = [functools.partial(selective_scan_tokens_triton, *args, **kw) for kw in settings]
    else:
        runs = [functools.partial(selective_scan_cross_tokens_triton, *args, width=CROSS_WIDTH, **kw)
                for kw in settings]
    outputs = [run() for run in runs]  # also compiles every variant before timing
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for run, row in zip(runs, times, strict=True):
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(calls):
                run()
            stop.record()
            torch.cuda.synchronize()
            row.append(start.elapsed_time(stop) / calls)
    medians = [statistics.median(row) for row in times]
    for kw, ms, out in zip(settings, medians, outputs, strict=True):
        label = ",".join(f"{k}={v}" for k, v in kw.items()) or "default"
        err = ((out - outputs[0]).norm() / outputs[0].norm()).item()
        shape = f"{'v2' if one_route else 'v1'} 180x320 E{dim} N16"
        print(f"{label:<28} {shape:<22} {ms:>9.3f} {medians[0] / ms:>8.2f}x {err:>12.2e}")
    return medians


def profile_cross(dtype: torch.dtype, *, dim: int = 360, calls: int = 5) -> None:
    """Where the fused four-route scan's time goes: chunk-end pass, carry, output pass.

    Same inputs as :func:`time_cross`; the table is torch.profiler's, GPU time summed over ``calls``."""
    from torch.profiler import ProfilerActivity, profile

    from restore_cli.ops.scan.triton import selective_scan_cross_tokens_triton

    args = cross_inputs(dtype, dim)
    for _ in range(3):
        selective_scan_cross_tokens_triton(*args, width=CROSS_WIDTH)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            selective_scan_cross_tokens_triton(*args, width=CROSS_WIDTH)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=8))


if __name__ == "__main__":
    main()

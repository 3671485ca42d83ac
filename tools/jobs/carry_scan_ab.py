"""The scan's carry kernel alone (the state entering every time chunk), at the models' shapes, under several
launch settings: CUDA-graph medians, interleaved, each variant checked against a float64 walk over the chunks.

    python tools/jobs/carry_scan_ab.py                      # on a GPU
    TRITON_INTERPRET=1 python tools/jobs/carry_scan_ab.py --check   # small shapes on the CPU: correctness only

Why: the carry is one small launch per scan (MambaIR light: ~15 us of a ~200 us scan, 24 per forward; classic
~28 us, 36 per forward) and runs few warps: one program per (channel block of 16, state), each taking its
chunks in tiles of at most 256, one tile after another. A variant is ``block_d/chunks/num_warps``: channels
per program, the most chunks per tile, warps per program.
"""

from __future__ import annotations

import functools
import statistics
import sys

import torch
import triton

from restore_cli.ops.scan import triton as scan_triton

#: label -> (route channels in all, states, time chunks), batch 1, as the launcher runs them (2026-11-25)
CASES = {
    "MambaIR light 180x320 (lanes: 469 chunks)": (288, 10, 469),
    "MambaIR classic 180x320 (264 chunks)": (1440, 16, 264),
    "colour DN 720x1280 (604 chunks)": (864, 16, 604),
}
SMALL_CASES = {"small, one tile": (40, 10, 37), "small, several tiles": (24, 16, 300)}
VARIANTS = ("16/256/4", "8/256/4", "4/256/2", "16/512/4", "8/512/4", "8/1024/8", "32/256/4")


def operands(dim: int, n_state: int, n_chunks: int, device: str) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator(device=device).manual_seed(0)
    n_pad = triton.next_power_of_2(n_state)
    a = -torch.rand(n_state, dim, generator=gen, device=device) - 0.1  # (N, dim), as the launcher passes A
    states = torch.zeros(2, 1, n_chunks, n_pad, dim, device=device)
    states[1] = torch.randn(1, n_chunks, n_pad, dim, generator=gen, device=device)
    dtsum = torch.rand(1, n_chunks, dim, generator=gen, device=device) * 3
    return a, states, dtsum


def reference(a: torch.Tensor, states: torch.Tensor, dtsum: torch.Tensor) -> torch.Tensor:
    """h0[k+1] = exp(A·Σδ_k)·h0[k] + h_end[k] in float64, h0[0] = 0: (n_chunks, N, dim)."""
    n_state = a.shape[0]
    decay = torch.exp(a.double()[None] * dtsum[0].double()[:, None, :])  # (n_chunks, N, dim)
    end = states[1, 0, :, :n_state].double()
    h, out = torch.zeros_like(end[0]), []
    for k in range(end.shape[0]):
        out.append(h)
        h = decay[k] * h + end[k]
    return torch.stack(out)


def launch(variant: str, a: torch.Tensor, states: torch.Tensor, dtsum: torch.Tensor) -> None:
    block_d, chunks, warps = (int(v) for v in variant.split("/"))
    n_state, dim = a.shape
    n_chunks = dtsum.shape[1]
    grid = (1, triton.cdiv(dim, block_d), n_state)
    scan_triton._carry_scan_kernel[grid](
        a, states[1], dtsum, states[0], dim, n_chunks, 1, dim, N_PAD=states.shape[3], BLOCK_D=block_d,
        CHUNKS=min(triton.next_power_of_2(n_chunks), chunks), num_warps=warps)


def main() -> None:
    check = "--check" in sys.argv
    device = "cpu" if check else "cuda"
    cases = SMALL_CASES if check else CASES
    for label, (dim, n_state, n_chunks) in cases.items():
        a, states, dtsum = operands(dim, n_state, n_chunks, device)
        expected = reference(a, states, dtsum)
        errors, times = {}, {v: [] for v in VARIANTS}
        for variant in VARIANTS:
            states[0].fill_(float("nan"))
            launch(variant, a, states, dtsum)
            errors[variant] = (states[0, 0, :, :n_state].double() - expected).abs().max().item()
        if not check:
            from restore_cli.bench import cuda_graph_us

            runs = {v: functools.partial(launch, v, a, states, dtsum) for v in VARIANTS}
            for _ in range(7):
                for variant, run in runs.items():
                    times[variant].append(cuda_graph_us(run, calls=20))
        print(f"{label}: " + ", ".join(
            f"{v} {statistics.median(times[v]):.1f} us (err {errors[v]:.1e})" if times[v]
            else f"{v} err {errors[v]:.1e}"
            for v in VARIANTS))


if __name__ == "__main__":
    main()

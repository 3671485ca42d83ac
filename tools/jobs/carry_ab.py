"""A/B of the chunk carry: the sequential walk (``_carry_kernel``) against the log-depth scan
(``_carry_scan_kernel``), interleaved medians of the whole tokens scan at MambaIR sizes (bf16, H100),
and the two outputs' difference.

    python tools/jobs/carry_ab.py
"""

from __future__ import annotations

import functools
import statistics

import torch

from restore_cli.ops.scan import triton as scan_triton


def median_ms(fn, reps: int = 21) -> float:
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main() -> None:
    gen = torch.Generator("cuda").manual_seed(0)
    print("| scan (bf16, 180x320) | chunks | walk carry | scan carry | max rel diff |")
    for label, routes, dim, n_state in (("v1 classic, 4 routes", 4, 360, 16), ("v1 light, 4 routes", 4, 120, 16),
                                        ("v2 Base, 1 route", 1, 348, 16), ("v2 light, 1 route", 1, 96, 8)):
        length, width = 180 * 320, 320
        u = torch.randn(1, length, dim, generator=gen, device="cuda").bfloat16()
        delta = (torch.randn(1, length, routes * dim, generator=gen, device="cuda") * 0.5 - 1).bfloat16()
        A = -torch.exp(torch.randn(routes * dim, n_state, generator=gen, device="cuda") * 0.5)
        bc = torch.randn(1, length, routes, 2 * n_state, generator=gen, device="cuda").bfloat16()
        D = torch.randn(routes * dim, device="cuda")
        B, C = bc[..., :n_state], bc[..., n_state:]
        if routes == 4:
            run = functools.partial(scan_triton.selective_scan_cross_tokens_triton, u, delta, A, B, C, D, D * 0.1,
                                    True, width=width)
        else:
            run = functools.partial(scan_triton.selective_scan_tokens_triton, u, delta, A, B[:, :, 0], C[:, :, 0],
                                    D, D * 0.1, True)
        outputs, times = {}, {"walk": [], "scan": []}
        for _ in range(3):  # interleaved
            for carry in ("walk", "scan"):
                scan_triton.CARRY = carry
                outputs[carry] = run()
                times[carry].append(median_ms(run))
        scan_triton.CARRY = "scan"
        diff = ((outputs["scan"].float() - outputs["walk"].float()).abs().max()
                / outputs["walk"].float().abs().max()).item()
        chunks = scan_triton.default_n_chunks(routes * -(-dim // 32), length,
                                              sm_count=torch.cuda.get_device_properties(0).multi_processor_count)
        print(f"| {label}, E {dim} | {chunks} | {statistics.median(times['walk']):.3f} ms | "
              f"{statistics.median(times['scan']):.3f} ms | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()

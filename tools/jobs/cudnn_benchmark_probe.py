"""The CAB's two 3x3 convolutions (channels padded to 184 -> 64 -> 184, bf16, channels_last) as MambaIR's
aligned path runs them: cuDNN's heuristic choice against ``torch.backends.cudnn.benchmark`` (which times the
algorithms on the first call of each shape), per image size; time per call and the memory the search took.

    python tools/jobs/cudnn_benchmark_probe.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from restore_cli.bench import cuda_median_ms


def probe(h: int, w: int, c_in: int, c_out: int, benchmark: bool) -> tuple[float, float]:
    torch.backends.cudnn.benchmark = benchmark
    x = torch.randn(1, h, w, c_in, device="cuda", dtype=torch.bfloat16).permute(0, 3, 1, 2)
    weight = torch.randn(c_out, c_in, 3, 3, device="cuda", dtype=torch.bfloat16) * 0.05
    bias = torch.randn(c_out, device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    F.conv2d(x, weight, bias, padding=1)
    torch.cuda.synchronize()
    search_mib = (torch.cuda.max_memory_allocated() - before) / 2**20
    ms = cuda_median_ms(lambda: F.conv2d(x, weight, bias, padding=1), runs=20)
    return ms, search_mib


def main() -> int:
    print(f"{'size':>10} {'conv':>9} {'heuristic ms':>12} {'benchmark ms':>12} {'first-call MiB (h/b)':>22}")
    for h, w in ((180, 320), (720, 1280)):
        # 192: the input rows padded to a multiple of 64 (the kernels' K tiles) rather than of 8
        for c_in, c_out in ((184, 64), (192, 64), (64, 184), (64, 192)):
            heur_ms, heur_mib = probe(h, w, c_in, c_out, False)
            bench_ms, bench_mib = probe(h, w, c_in, c_out, True)
            print(f"{h}x{w:<6} {c_in:>3}->{c_out:<4} {heur_ms:12.3f} {bench_ms:12.3f} "
                  f"{heur_mib:10.0f} / {bench_mib:<10.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

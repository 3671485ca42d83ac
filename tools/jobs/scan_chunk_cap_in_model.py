"""The scan's chunk cap in the models: GPU kernel time of one compiled bf16 forward at 180x320 with the
cap of :func:`restore_cli.ops.scan.triton.default_n_chunks` scaled (1 = as shipped: 160 chunks at one
channel per thread, 256 at two). The one-route scans of MambaIRv2 have few channel blocks (v2 light: 3
programs of 32 channels before chunking, so 480 warps on 132 SMs at the cap), which more chunks would fill.

    python tools/jobs/scan_chunk_cap_in_model.py CARD [scale ...]
"""

from __future__ import annotations

import sys

import torch
import triton

import restore_cli.ops.scan.triton as scan_triton
from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.compile import compile_blocks


def scaled_default_n_chunks(scale: float):
    def default_n_chunks(programs, length, *, sm_count=132, per_sm=48, per_thread=1):
        max_chunks = int((256 if per_thread >= 2 else 160) * scale)
        wanted = triton.cdiv(per_sm * sm_count, max(1, programs))
        return max(1, min(wanted, max_chunks, length // 64))
    return default_n_chunks


def main(card: str, scales: list[float]) -> None:
    device = torch.device("cuda")
    x = photo_input(180, 320, device)
    net = seeded_model(card, device)
    configure_scan(net, backend="triton", fused_cross_scan=True)
    if callable(getattr(net, "align_channels", None)):
        net.align_channels()
    compile_blocks(net)
    reference = None
    for scale in scales:
        scan_triton.default_n_chunks = scaled_default_n_chunks(scale)

        def run() -> torch.Tensor:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                return net(x)

        for _ in range(2):
            out = run().float()
        reference = out if reference is None else reference
        rel = ((out - reference).norm() / reference.norm()).item()
        totals = []
        for _ in range(3):
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                run()
                torch.cuda.synchronize()
            events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
            totals.append(sum(e.self_device_time_total for e in events) / 1e3)
            scan = sum(e.self_device_time_total for e in events if "scan" in e.key) / 1e3
        print(f"{card} cap x{scale:g}: GPU kernel time {sorted(totals)[1]:.2f} ms (scan kernels {scan:.2f} ms), "
              f"rel vs first {rel:.1e}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], [float(s) for s in sys.argv[2:]] or [1, 2, 4])

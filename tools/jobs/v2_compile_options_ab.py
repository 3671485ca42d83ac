"""MambaIRv2's unaligned GEMMs (174/348/522 wide at Base): Inductor's forced GEMM shape padding (without
the stride padding that makes it non-finite, tools/jobs/inductor_padding_v2_debug.py), or the network at
aligned widths (``align_channels``). Agreement with the float32 eager model and GPU kernel time of one
bf16 forward at 180x320 (torch.profiler), top kernels.

    python tools/jobs/v2_compile_options_ab.py mambairv2-base-x4 [none force_shape_pad aligned aligned_multi_kernel
        aligned_freezing aligned_max_autotune max_autotune]

Also for MambaIR (``none`` / ``max_autotune``: no alignment there).
"""

from __future__ import annotations

import sys
import time

import torch
import torch._dynamo

from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.compile import compile_blocks

VARIANTS = {  # name: (Inductor options, MambaIRv2.align_channels first[, torch.compile mode])
    "none": ({}, False),
    "force_shape_pad": ({"force_shape_pad": True}, False),
    "aligned": ({}, True),
    # Inductor compiles each reduction both persistent and looped and picks the faster at run time: most
    # of the aligned LayerNorms came out looped (~80 us a call) where the persistent ones took 23-57 us
    "aligned_multi_kernel": ({"triton.multi_kernel": 1}, True),
    # parameters as constants: the per-forward weight preparation (the x-projection's row order, the delta
    # projection's padding, -exp(A_log), embeddingB @ embeddingA, the depthwise tap tables) folded away
    "aligned_freezing": ({"freezing": True}, True),
    # GEMMs timed against Triton templates that take their neighbours' pointwise work as prologue/epilogue
    # (the light models' K = 48-96 GEMMs are memory-bound; cuBLAS runs them as separate launches)
    "aligned_max_autotune": ({}, True, "max-autotune-no-cudagraphs"),
    "max_autotune": ({}, False, "max-autotune-no-cudagraphs"),
    # the compiled blocks' nn.Linear weights and biases stored in bf16 once, instead of autocast casting the
    # float32 parameters in every forward (~240 small cast kernels per MambaIRv2 light forward)
    "aligned_bf16_linears": ({}, True),
    "aligned_max_autotune_bf16_linears": ({}, True, "max-autotune-no-cudagraphs"),
}


def gpu_kernel_ms(run, top: int = 60) -> float:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        run()
        torch.cuda.synchronize()
    events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
    total = sum(e.self_device_time_total for e in events)
    for e in sorted(events, key=lambda e: -e.self_device_time_total)[:top]:
        print(f"   {e.self_device_time_total / 1e3:7.2f} ms {e.count:5d}  {e.key[:150]}")
    return total / 1e3


def main(card: str, names: list[str]) -> None:
    device = torch.device("cuda")
    x = photo_input(180, 320, device)
    with torch.inference_mode():
        reference = seeded_model(card, device)(x).float()
    for name in names or list(VARIANTS):
        options, aligned, *mode = VARIANTS[name]
        torch._dynamo.reset()
        net = seeded_model(card, device)
        type(net).compile_options = tuple(options.items())
        if aligned:
            net.align_channels()
        if name.endswith("bf16_linears"):
            for module in net.modules():
                if isinstance(module, torch.nn.Linear):
                    module.to(torch.bfloat16)
        compile_blocks(net, mode=mode[0] if mode else None)

        def run() -> torch.Tensor:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                return net(x)  # noqa: B023 (called within this iteration only)

        start = time.perf_counter()
        out = run().float()
        print(f"{card} {name}: first call (compile) {time.perf_counter() - start:.0f} s", flush=True)
        out = run().float()
        rel = ((out - reference).norm() / reference.norm()).item()
        print(f"{card} {name}: rel L2 vs float32 {rel:.2e}, finite {bool(out.isfinite().all())}", flush=True)
        print(f"{card} {name}: GPU kernel time {gpu_kernel_ms(run):.1f} ms", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "mambairv2-base-x4", sys.argv[2:])

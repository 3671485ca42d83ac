"""Time one training step (forward, L1 loss, backward, AdamW, EMA) of the networks `restore train` uses.

Light models are launch-bound on a big GPU: a step at batch 16 costs about what a step at batch 64
does. This table says which batch size buys the most patches per second before a time-budgeted run.

    python benchmarks/bench_train_step.py                    # every case, batches 16, 32, 64
    python benchmarks/bench_train_step.py --batches 8,16 --cases deblur-laformer
    python benchmarks/bench_train_step.py --profile sr-x4-mambair-light:16   # top GPU kernels of one step
    python benchmarks/bench_train_step.py --cases deblur-laformer --compile both  # eager vs torch.compile

With ``--compile`` the first warm-up step also compiles (its time is printed, not counted).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from restore_cli.train.loop import EMA, build_network, loss_function, resolve_arch

#: name -> (task, scale, --arch, --arch-kwargs, clean patch side, channels)
CASES: dict[str, tuple[str, int, str, dict, int, int]] = {
    "sr-x4-mambair-light": ("sr", 4, "mambair-light", {}, 192, 3),
    "sr-x2-mambair-light": ("sr", 2, "mambair-light", {}, 96, 3),
    "jpeg-mambair-light": ("jpeg", 1, "mambair-light", {}, 64, 1),
    "deblur-laformer": ("deblur", 1, "LAformer", {}, 128, 3),
    "deblur-acl": ("deblur", 1, "ACL", {}, 128, 3),
    "deblur-mambairunet-small": ("deblur", 1, "MambaIRUNet",
                                 {"dim": 32, "num_blocks": [2, 2, 2, 2], "num_refinement_blocks": 2, "mlp_ratio": 1.5},
                                 128, 3),
}


def time_steps(case: str, batch: int, steps: int, device: torch.device, *,
               profile: bool = False, patch: int | None = None, compile: bool = False,
               loss: str = "l1") -> tuple[float, float, float]:
    """Median ms per step, peak GiB and first-step seconds for ``case`` at ``batch``.

    ``profile``: print the top kernels too; ``patch`` overrides the case's clean patch side; ``compile``
    runs the forward through ``torch.compile`` as ``restore train --compile`` does.
    """
    task, scale, arch, kwargs, case_patch, channels = CASES[case]
    patch = patch or case_patch
    class_name, full = resolve_arch(arch, kwargs, task=task, scale=scale, channels=channels)
    model = build_network(class_name, full).to(device).train()
    forward = torch.compile(model) if compile else model
    loss_fn = loss_function(loss)
    ema = EMA(model, 0.999)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    lq = torch.rand(batch, channels, patch // scale, patch // scale, device=device)
    gt = torch.rand(batch, channels, patch, patch, device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    times = []
    first_s = 0.0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    profiler = None
    for i in range(steps + 3):
        if profile and i == 3:
            profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                          torch.profiler.ProfilerActivity.CUDA])
            profiler.__enter__()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        with autocast:
            out = forward(lq)
        loss = loss_fn(out.float(), gt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema.update(model, i)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i == 0:
            first_s = time.perf_counter() - t0
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1e3)
    if profiler is not None:
        profiler.__exit__(None, None, None)
        sort = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
        print(profiler.key_averages().table(sort_by=sort, row_limit=25, max_name_column_width=70))
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return statistics.median(times), peak, first_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument("--batches", default="16,32,64", help="comma-separated batch sizes")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per cell (after 3 warm-ups)")
    parser.add_argument("--profile", metavar="CASE:BATCH", help="profile this cell and print its top kernels")
    parser.add_argument("--patch", type=int, help="clean patch side for every case (default: the case's)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--compile", choices=("off", "on", "both"), default="off",
                        help="torch.compile the forward (both: a row for each)")
    parser.add_argument("--loss", default="l1", help="l1, charbonnier or l1+fft")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}, bf16 autocast on CUDA")
    if args.profile:
        case, batch = args.profile.rsplit(":", 1)
        time_steps(case, int(batch), args.steps, device, profile=True, patch=args.patch,
                   compile=args.compile == "on", loss=args.loss)
        return
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    print(f"loss {args.loss}")
    print("| case | compiled | patch | batch | ms/step | patches/s | peak GiB | first step s |\n"
          "|---|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            for compiled in modes:
                row = f"| {case} | {'yes' if compiled else 'no'} | {args.patch or CASES[case][4]} | {batch} |"
                try:
                    ms, peak, first = time_steps(case, batch, args.steps, device, patch=args.patch,
                                                 compile=compiled, loss=args.loss)
                except torch.OutOfMemoryError:
                    print(f"{row} out of memory | | | |")
                    continue
                finally:
                    torch.cuda.empty_cache() if device.type == "cuda" else None
                print(f"{row} {ms:.0f} | {batch / ms * 1e3:.0f} | {peak:.1f} | {first:.1f} |", flush=True)


if __name__ == "__main__":
    main()

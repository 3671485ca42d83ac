"""Time and peak memory of ACL, LAformer (and MambaIRUNet) from 256 to 2048 px: is the cost linear in pixels?

Usage (GPU, the numbers for the README)::

    python benchmarks/bench_linear_models.py                       # fp32, 256 512 1024 2048
    python benchmarks/bench_linear_models.py --dtype bf16 --json bench.json

Quick CPU check (seconds)::

    python benchmarks/bench_linear_models.py --device cpu --sizes 64 128 --models ACL LAformer

Prints one markdown table per run: parameters, GMACs at 256 x 256 (1 MAC = one multiply-add, the unit
restoration papers print as "FLOPs"; counted by ``restore_cli.ops.linear_attn.cost`` on the meta device),
then per size the median forward time and the peak memory. On CUDA, time comes from CUDA events and memory
from ``torch.cuda.max_memory_allocated`` (weights included; reset before each size). On the CPU, memory is
not measured. ``x4`` columns give each time relative to the previous size: linear cost means about 4 per
doubling of the side, quadratic attention would be about 16. A size that runs out of memory prints ``OOM``
and the larger sizes of that model are skipped. MambaIRUNet's MACs exclude its selective scan (not a
conv/linear/matmul), so they are a lower bound.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from restore_cli.archs import build, get_arch
from restore_cli.ops.linear_attn.cost import count_macs, count_params

# MambaIR's released real-denoising U-Net (mambair.md §5.1): the in-house baseline's shape.
MAMBAIR_UNET_RELEASED = {"dim": 48, "num_blocks": (4, 6, 6, 8), "num_refinement_blocks": 4, "mlp_ratio": 1.5}
DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def build_model(name: str, variant: str) -> nn.Module:
    """Default (paper-sized) or tiny configuration of ``name``."""
    if name == "MambaIRUNet":
        kwargs: dict[str, Any] = dict(MAMBAIR_UNET_RELEASED)
        if variant == "tiny":
            kwargs.update(dim=16, num_blocks=(1, 1, 1, 1), num_refinement_blocks=1)
        return build(name, **kwargs)
    return get_arch(name).variant(variant)  # type: ignore[attr-defined]


def timer(device: torch.device) -> Callable[[Callable[[], object]], float]:
    """Return a function that times one call in milliseconds (CUDA events on GPU, perf_counter on CPU)."""
    if device.type == "cuda":
        def run_cuda(fn: Callable[[], object]) -> float:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end)
        return run_cuda

    def run_cpu(fn: Callable[[], object]) -> float:
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3
    return run_cpu


def is_oom(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower()


def bench_model(name: str, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Params, GMACs at 256 and per-size time/memory for one model."""
    with torch.device("meta"):
        meta_model = build_model(name, args.variant)
    row: dict[str, Any] = {
        "model": name,
        "params_M": count_params(meta_model) / 1e6,
        "gmacs_256": count_macs(meta_model, (1, 3, 256, 256)) / 1e9,
        "sizes": {},
    }
    del meta_model
    torch.manual_seed(0)
    model = build_model(name, args.variant).eval().to(device)
    dtype = DTYPES[args.dtype]
    autocast = (
        (lambda: torch.autocast(device.type, dtype=dtype)) if dtype is not None else contextlib.nullcontext
    )
    time_one = timer(device)
    failed = False
    for size in args.sizes:
        if failed:
            row["sizes"][size] = {"status": "skipped"}
            continue
        try:
            x = torch.rand(args.batch, 3, size, size, device=device)
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)

            def forward(x: torch.Tensor = x, model: nn.Module = model) -> torch.Tensor:
                with torch.inference_mode(), autocast():
                    return model(x)

            for _ in range(args.warmup):
                forward()
            times = [time_one(forward) for _ in range(args.repeats)]
            entry: dict[str, Any] = {"status": "ok", "ms": statistics.median(times)}
            if device.type == "cuda":
                entry["peak_MiB"] = torch.cuda.max_memory_allocated(device) / 2**20
            row["sizes"][size] = entry
            del x
        except RuntimeError as err:
            if not is_oom(err):
                raise
            row["sizes"][size] = {"status": "OOM"}
            failed = True
            if device.type == "cuda":
                torch.cuda.empty_cache()
        print(f"  {name} {size}px: {row['sizes'][size]}", file=sys.stderr, flush=True)
    model.cpu()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def markdown_table(rows: list[dict[str, Any]], sizes: list[int], device_name: str, dtype: str) -> str:
    """One markdown table: params, GMACs@256, then time (ratio to previous size) and memory per size."""
    head = ["model", "params (M)", "GMACs @256²"]
    for s in sizes:
        head += [f"{s}² ms", f"{s}² x4", f"{s}² peak MiB"]
    lines = [f"Device: {device_name}, {dtype}, batch 1, forward only (inference_mode)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["model"], f"{row['params_M']:.2f}", f"{row['gmacs_256']:.1f}"]
        prev = None
        for s in sizes:
            e = row["sizes"].get(s, {"status": "skipped"})
            if e["status"] != "ok":
                cells += [e["status"], "", ""]
                prev = None
                continue
            cells.append(f"{e['ms']:.1f}")
            cells.append(f"{e['ms'] / prev:.2f}" if prev else "")
            cells.append(f"{e['peak_MiB']:.0f}" if "peak_MiB" in e else "n/a")
            prev = e["ms"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    parser.add_argument("--models", nargs="+", default=["ACL", "LAformer", "MambaIRUNet"])
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cuda, cuda:1, cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="autocast dtype (fp32 = off)")
    parser.add_argument("--variant", choices=["default", "tiny"], default="default")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    if device.type == "cuda":
        device_name = torch.cuda.get_device_name(device)
    else:
        device_name = f"CPU ({torch.get_num_threads()} threads)"
    rows = []
    for name in args.models:
        try:
            rows.append(bench_model(name, args, device))
        except ImportError as err:  # an architecture that is not importable here
            print(f"  {name}: skipped ({err})", file=sys.stderr)
    print(markdown_table(rows, args.sizes, device_name, args.dtype))
    if args.json:
        args.json.write_text(json.dumps({"device": device_name, "dtype": args.dtype, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

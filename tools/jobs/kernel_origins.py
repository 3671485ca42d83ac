"""Which PyTorch operators launch a compiled model's non-Inductor kernels (copies, fills, eager adds).

    python tools/jobs/kernel_origins.py mambair-sr-x4 180 320 [--match direct_copy,FillFunctor,elementwise]

Profiles one bf16 + ``--compile`` forward (as ``benchmarks/profile_model.py`` builds it) with shapes
recorded, exports the trace and, for every kernel whose name contains one of ``--match``, names the CPU
operators around its launch (innermost first) with their input shapes, dtypes and strides, summed per
distinct origin. It answers "what is this 75 us copy" without reading Inductor's output.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model


def build(card: str, compiled: bool) -> torch.nn.Module:
    dev = torch.device("cuda")
    net = seeded_model(card, dev)
    configure_scan(net, backend="triton", fused_cross_scan=True)
    align = getattr(net, "align_channels", None)
    if callable(align) and compiled:
        align()
    if getattr(net, "matmuls_under_autocast", False):
        from restore_cli.engine.model import store_matmul_weights_in

        store_matmul_weights_in(net, torch.bfloat16)
    from restore_cli.archs.layers import fold_inference_weights

    fold_inference_weights(net)  # as the engine does, after the casts
    if compiled:
        from restore_cli.engine.compile import compile_blocks

        compile_blocks(net)
    return net


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("card")
    parser.add_argument("height", type=int)
    parser.add_argument("width", type=int)
    parser.add_argument("--match", default="direct_copy,FillFunctor,elementwise_kernel,Memset,to_copy")
    parser.add_argument("--eager", action="store_true", help="do not compile the blocks")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device")
        return 0
    net = build(args.card, not args.eager)
    x = photo_input(args.height, args.width, torch.device("cuda"))

    def run() -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            return net(x)

    for _ in range(3):
        run()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                            torch.profiler.ProfilerActivity.CUDA], record_shapes=True) as prof:
        run()
        torch.cuda.synchronize()
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        prof.export_chrome_trace(f.name)
        with open(f.name) as exported:
            trace = json.load(exported)["traceEvents"]
    patterns = [p for p in args.match.split(",") if p]
    launches = {e["args"].get("correlation"): e for e in trace
                if e.get("cat") == "cuda_runtime" and "args" in e}
    cpu_ops = [e for e in trace if e.get("cat") in ("cpu_op", "user_annotation") and "dur" in e]
    by_thread: dict[object, list[dict]] = collections.defaultdict(list)
    for e in cpu_ops:
        by_thread[e["tid"]].append(e)
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
    kernel_total = 0.0
    for e in trace:
        if e.get("cat") not in ("kernel", "gpu_memset", "gpu_memcpy"):
            continue
        kernel_total += e.get("dur", 0)
        name = e.get("name", "")
        if not any(p in name for p in patterns):
            continue
        launch = launches.get(e.get("args", {}).get("correlation"))
        chain = []
        if launch is not None:
            around = [c for c in by_thread[launch["tid"]] if c["ts"] <= launch["ts"] <= c["ts"] + c["dur"]]
            around.sort(key=lambda c: c["dur"])
            for c in around[:4]:
                a = c.get("args", {})
                chain.append(f"{c['name']} dims={a.get('Input Dims')} types={a.get('Input type')} "
                             f"strides={a.get('Input Strides')}")
        key = f"{name[:70]}\n      " + "\n      <- ".join(chain or ["(no CPU op found)"])
        totals[key][0] += e.get("dur", 0)
        totals[key][1] += 1
    print(f"{args.card} {args.height}x{args.width} bf16{'' if args.eager else '+compile'}: "
          f"kernel time {kernel_total / 1e3:.2f} ms")
    for key, (us, calls) in sorted(totals.items(), key=lambda kv: -kv[1][0]):
        print(f"{us / 1e3:7.3f} ms {calls:4d} calls  {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

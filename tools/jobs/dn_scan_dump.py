"""Colour DN's compiled model with a previous scan module and the current one: per-kernel GPU time of each,
the launch operands each saw, and the cubins Triton built for each (to diff their SASS offline).

    python tools/jobs/dn_scan_dump.py OUT_DIR tools/jobs/_scan_at_a5ae93e.py [card height width]

Written in the twenty-fourth session: the two modules' four-route kernels compile to the same SASS offline
and launch with the same grid and constants, yet the model's scan took 512 against 735 ms per forward.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import torch
from kernel_origins import build
from scan_in_model_ab import profiled_forward
from scan_softplus_ab import load

from restore_cli.bench import photo_input
from restore_cli.ops.scan import triton as current


def describe(value):
    if isinstance(value, torch.Tensor):
        return dict(shape=list(value.shape), stride=list(value.stride()), dtype=str(value.dtype),
                    offset=value.storage_offset(), align=value.data_ptr() % 128)
    return repr(value)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    prev = load(Path(sys.argv[2]))
    card, height, width = (sys.argv[3], int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 else (
        "mambair-dn-color-s25", 720, 1280)
    entries = ("selective_scan_cross_tokens_triton", "selective_scan_tokens_triton")
    modules = {"previous": prev, "current": current}
    fns = {name: {e: getattr(m, e) for e in entries} for name, m in modules.items()}
    seen: dict[str, list] = defaultdict(list)
    for name, module in modules.items():
        original = module._run

        def recorder(*args, _name=name, _original=original, **kwargs):
            if len(seen[_name]) < 2:
                seen[_name].append(dict(args=[describe(a) for a in args],
                                        kwargs={k: describe(v) for k, v in kwargs.items()}))
            return _original(*args, **kwargs)

        module._run = recorder
    net = build(card, compiled=True)
    x = photo_input(height, width, torch.device("cuda"))
    times: dict[str, list] = defaultdict(list)
    for _ in range(2):
        for name in modules:
            for entry in entries:
                setattr(current, entry, fns[name][entry])
            rows = sorted(((e.key[:60], e.count, e.self_device_time_total / 1e3) for e in profiled_forward(net, x)),
                          key=lambda r: -r[2])
            times[name].append(rows[:8])
    for entry in entries:
        setattr(current, entry, fns["current"][entry])
    for name, runs in times.items():
        print(f"== {name}")
        for key, count, ms in runs[-1]:
            print(f"  {ms:9.1f} ms  x{count:<5} {key}")
    (out / "launch-operands.json").write_text(json.dumps(seen, indent=1))
    for name, module in modules.items():
        for _device, cache in module._scan_chunk_kernel.device_caches.items():
            for i, (key, kernel) in enumerate(cache[0].items()):
                if hasattr(kernel, "result"):
                    kernel = kernel.result()
                stem = f"{name}-{i}"
                (out / f"{stem}.cubin").write_bytes(kernel.asm["cubin"])
                (out / f"{stem}.ttgir").write_text(kernel.asm.get("ttgir", ""))
                (out / f"{stem}.key.txt").write_text(str(key))
                print(stem, "regs", kernel.n_regs, "spills", kernel.n_spills, str(key)[:300])


if __name__ == "__main__":
    main()

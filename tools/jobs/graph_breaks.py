"""Where Dynamo splits each compiled block class of a catalog architecture: graph and break counts, reasons.

    python tools/jobs/graph_breaks.py mambair-light-x4 mambair-sr-x4 ...   # on a GPU (the CUDA paths)
    python tools/jobs/graph_breaks.py --cached-mamba-probe mambair-light-x4  # mamba_available as it was

Runs the network once eagerly on a small photo to capture one block's arguments, then
``torch._dynamo.explain`` on that block under inference mode and bf16 autocast, as the engine compiles it.
A graph break splits a block into several compiled graphs: each boundary writes its tensors out in float32
and the next graph reads, casts and pads them again (MambaIR light, 2026-11-25: three graphs per VSSBlock).
"""

from __future__ import annotations

import sys

import torch

from restore_cli.archs import configure_scan
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.compile import compile_targets


def restore_traced_mamba_probe() -> None:
    """Put back the mamba-ssm probe as it was before 2026-11-25: ``functools.cache``d, so Dynamo traces it."""
    import functools

    from restore_cli.ops import scan

    @functools.cache
    def mamba_available() -> bool:
        try:
            import mamba_ssm.ops.selective_scan_interface  # noqa: F401
        except Exception:
            return False
        return True

    scan.mamba_available = mamba_available


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device")
        return 0
    dev = torch.device("cuda")
    cards = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--cached-mamba-probe" in sys.argv:
        restore_traced_mamba_probe()
        print("(mamba-ssm probe as before: functools.cache)")
    for card in cards:
        net = seeded_model(card, dev)
        configure_scan(net, backend="triton", fused_cross_scan=True)
        align = getattr(net, "align_channels", None)
        if callable(align):
            align()
        if getattr(net, "matmuls_under_autocast", False):
            from restore_cli.engine.model import store_matmul_weights_in

            store_matmul_weights_in(net, torch.bfloat16)
        from restore_cli.archs.layers import fold_inference_weights

        fold_inference_weights(net)  # as the engine does, after the casts
        blocks = compile_targets(net)
        captured: dict[str, tuple] = {}

        def keep(module, args, kwargs, _out, captured=captured):
            captured.setdefault("call", (module, args, kwargs))

        handle = blocks[0].register_forward_hook(keep, with_kwargs=True)
        x = photo_input(64, 96, dev)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            net(x)
            handle.remove()
            block, args, kwargs = captured["call"]
            torch._dynamo.reset()
            report = torch._dynamo.explain(block)(*args, **kwargs)
        print(f"{card} {type(block).__name__}: {report.graph_count} graphs, {report.graph_break_count} breaks")
        for reason in report.break_reasons:
            where = reason.user_stack[-1] if reason.user_stack else None
            place = f"{where.filename.split('/')[-1]}:{where.lineno} {where.line}" if where else "?"
            print(f"  - {reason.reason.splitlines()[0][:160]}\n    at {place}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

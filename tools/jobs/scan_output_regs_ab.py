r"""The output pass of the scan: its sum over the states as a tree of adds (depth log2 N instead of a chain
of N), and register caps above ptxas's own choice, against the previous module (``_scan_prev.py`` beside
this script, not committed; ``git show HEAD~:restore_cli/ops/scan/triton.py | sed 's/^from \.\.launch
import/from restore_cli.ops.launch import/' > tools/jobs/_scan_prev.py``).

Why caps above: at two channels per thread ptxas fits the output pass in 128 registers (16 warps per SM)
by sinking the next step's loads to the end of the step (``nvdisasm``: at instructions 277-291 of 313),
so the prefetch hides little; with ``maxnreg`` 144 it keeps them early (70-107 of 352) in 133 registers.

GPU time from CUDA graphs, interleaved medians, bf16 operands; outputs compared with the previous module.
It sets two A/B knobs of the scan module that only commit e83f438 has (``TREE_SUM_OVERRIDE``, a tree sum
over the states in the output pass, and ``OUTPUT_MAXNREG``); what was kept is
``ops.scan.triton.output_pass_maxnreg`` (the tree sum gained alone at one channel per thread, not in the
model: ``results/perf22f-light-in-model.txt``).

    PYTHONPATH=$PWD:$PWD/tools/jobs python tools/jobs/scan_output_regs_ab.py
"""

from __future__ import annotations

import functools
import statistics
from pathlib import Path

import torch
from scan_softplus_ab import load, scan_cases

from restore_cli.bench import cuda_graph_us
from restore_cli.ops.scan import triton as current

#: (TREE_SUM_OVERRIDE, OUTPUT_MAXNREG) of the current module; round 22b's variants were the tree sum
#: everywhere with no cap and with caps 144, 152 and 168 (``results/perf22b-output-regs-ab.txt``)
VARIANTS = {"previous": None, "auto": (None, None), "maxnreg 168": (None, 168), "maxnreg 200": (None, 200),
            "maxnreg 255": (None, 255), "tree, maxnreg 168": (True, 168)}


def main() -> None:
    prev = load(Path(__file__).with_name("_scan_prev.py"))
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    cases = scan_cases()
    print("| scan, bf16 | " + " | ".join(VARIANTS) + " |\n|---|" + "---|" * len(VARIANTS))
    for label, (name, (args, kwargs)) in cases.items():
        def call(variant: str, name=name, args=args, kwargs=kwargs) -> torch.Tensor:
            if variant == "previous":
                return getattr(prev, name)(*args, **kwargs)
            current.TREE_SUM_OVERRIDE, current.OUTPUT_MAXNREG = VARIANTS[variant]
            return getattr(current, name)(*args, **kwargs)

        with torch.inference_mode():
            base = call("previous").float()
            diffs = {v: (call(v).float() - base).abs().max().item() for v in VARIANTS}
            times: dict[str, list[float]] = {v: [] for v in VARIANTS}
            for _ in range(7):
                for v in VARIANTS:
                    times[v].append(cuda_graph_us(functools.partial(call, v), calls=3 if "DN" in label else 5))
        cells = [f"{statistics.median(times[v]):.0f} us ({diffs[v]:.0e})" for v in VARIANTS]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

"""MambaIRv2's default CUDA path with and without the thirty-second session's smaller passes: the row
gathers as one kernel (``ops.gather_rows``: the sorted tokens, the route prompt added to C), the route
classes as one argmax kernel (``ops.class_order.route_classes``) instead of LogSoftmax then argmax, and the
window attention's bias folded once; per benchmark case through the engine, one case per process.

    python tools/jobs/v2_passes_ab.py "MambaIRv2 light SR x4, 720p out" --before
"""

from __future__ import annotations

import torch
from engine_ab import case_parser, run_case

from restore_cli.archs import mambair_v2
from restore_cli.ops.gather_rows import gather_rows_reference


def main() -> int:
    parser = case_parser(default_path="bf16")
    parser.add_argument("--before", action="store_true", help="the PyTorch passes of the session before")
    args = parser.parse_args()
    if args.before:
        mambair_v2.gather_rows = gather_rows_reference
        mambair_v2.route_classes = lambda logits: torch.log_softmax(logits.float(), -1).argmax(-1)
        del mambair_v2.WindowAttention.fold_inference_weights
    return run_case(args, lambda: "before" if args.before else "after ")


if __name__ == "__main__":
    raise SystemExit(main())

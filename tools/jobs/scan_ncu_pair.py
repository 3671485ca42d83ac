"""Launch MambaIR classic's four-route scan (180x320, E 360, bf16) once with a previous version of the
scan module (``_scan_prev.py`` beside this script) and once with the current one, for Nsight Compute to
compare the four kernels (chunk-end and output pass of each; the carry kernel in between is not a scan pass).

    ncu --kernel-name regex:scan_chunk --launch-count 4 ... python tools/jobs/scan_ncu_pair.py
"""

from __future__ import annotations

from pathlib import Path

import torch
from scan_softplus_ab import cross_args, load

from restore_cli.ops.scan import triton as current


def main() -> None:
    prev = load(Path(__file__).with_name("_scan_prev.py"))
    args, kwargs = cross_args(180, 320, 360)
    with torch.inference_mode():
        for module in (prev, current):
            module.selective_scan_cross_tokens_triton(*args, **kwargs)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()

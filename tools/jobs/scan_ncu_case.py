"""Launch one A/B case of the current scan module a few times, for Nsight Compute (skip the first calls):

    ncu --kernel-name regex:scan_chunk --launch-skip 4 --launch-count 2 ... \
        python tools/jobs/scan_ncu_case.py "MambaIR light"
"""

from __future__ import annotations

import sys

import torch
from scan_softplus_ab import scan_cases

from restore_cli.ops.scan import triton as current


def main() -> None:
    label = next(k for k in scan_cases() if k.startswith(sys.argv[1]))
    entry, (args, kwargs) = scan_cases()[label]
    print(label)
    with torch.inference_mode():
        for _ in range(3):
            getattr(current, entry)(*args, **kwargs)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()

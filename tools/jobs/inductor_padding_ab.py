"""A/B of Inductor's stride padding for the compiled blocks (bf16 + ``--compile``), 720p x4 cases.

Row strides of 180 (MambaIR) or 174 (MambaIRv2) bf16 elements are not 16-byte aligned, so cuBLAS and
cuDNN fall back to slower kernels (an H100 GEMM of 57,600 x 180 x 720 took 158 us as is, 75 us with K
padded to 184: ``tools/jobs/gemm_alignment_ab.py``). Inductor pads intermediate strides only above
``padding_stride_threshold`` (1024 elements by default); this times the models with lower thresholds.

    python tools/jobs/inductor_padding_ab.py [variant ...]
"""

from __future__ import annotations

import sys

import torch
import torch._dynamo
import torch._inductor.config as inductor_config

from restore_cli.bench import _timed, photo_input, seeded_model
from restore_cli.engine.model import wrap_module
from restore_cli.engine.run import restore_tensor

VARIANTS = {
    "default": {},
    "pad16": {"padding_stride_threshold": 64, "padding_alignment_bytes": 16},
    "pad128": {"padding_stride_threshold": 64},
    "pad16+shape": {"padding_stride_threshold": 64, "padding_alignment_bytes": 16, "force_shape_pad": True},
    "shape": {"force_shape_pad": True},
}
CASES = (("MambaIR classic x4 720p", "mambair-sr-x4"), ("MambaIRv2 Base x4 720p", "mambairv2-base-x4"),
         ("MambaIR light x4 720p", "mambair-light-x4"))


def main(names: list[str]) -> int:
    dev = torch.device("cuda")
    x = photo_input(180, 320, torch.device("cpu"))
    for label, card in CASES:
        first = None
        for name in names or list(VARIANTS):
            torch._dynamo.reset()
            try:
                with inductor_config.patch(VARIANTS[name]):
                    net = seeded_model(card, dev)
                    model = wrap_module(net, arch=card, device=dev, precision="bf16", cuda_graphs=True,
                                        compile=True)
                    ms, out = _timed(lambda model=model: restore_tensor(model, x, tile=0, overlap=16,
                                                                        batch_size=1), 5)
            except Exception as exc:  # a variant that fails (NaN, compile error) is reported, not fatal
                print(f"{label:26s} {name:12s} failed: {type(exc).__name__}: {str(exc)[:100]}", flush=True)
                continue
            rel = 0.0 if first is None else ((out - first).norm() / first.norm()).item()
            first = out if first is None else first
            print(f"{label:26s} {name:12s} {ms:8.1f} ms  rel L2 vs default {rel:.1e}", flush=True)
            del net, model
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Where MambaIRv2's bf16 output goes wrong with Inductor's stride padding: its channel-last fast path
(our opaque token convolutions and scan) against the official layout, each compiled with the padding and
compared with the same path run eagerly in bf16 (180x320, MambaIRv2 Base x4)."""

import torch
import torch._dynamo

from restore_cli.archs import configure_scan
from restore_cli.archs.mambair import MambaIR
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.compile import compile_targets

PAD = {"padding_stride_threshold": 64, "padding_alignment_bytes": 16}
x = photo_input(180, 320, torch.device("cuda"))
with torch.inference_mode():
    reference = seeded_model("mambairv2-base-x4", torch.device("cuda"))(x)
for fast in (True, False):
    for name, options in (("pad16", PAD), ("pad16+shape", dict(MambaIR.compile_options)), ("none", {})):
        torch._dynamo.reset()
        net = seeded_model("mambairv2-base-x4", torch.device("cuda"))
        configure_scan(net, fused_cross_scan=fast)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            eager = net(x).float()
            for block in compile_targets(net):
                block.compile(dynamic=False, options=options or None)
            got = net(x).float()
        rel = lambda a: ((a - reference).norm() / reference.norm()).item()  # noqa: E731
        print(f"fast path {fast!s:5s} {name:12s}: eager bf16 {rel(eager):.2e}, compiled bf16 {rel(got):.2e}, "
              f"finite {bool(got.isfinite().all())}", flush=True)

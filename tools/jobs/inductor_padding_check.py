"""Float32 check of Inductor's stride/GEMM-shape padding on whole networks: compiled blocks with
``MambaIR.compile_options`` against eager, TF32 off, 180x320 input (MambaIR classic x4 and, with the same
options forced, MambaIRv2 Base x4, where bf16 results went wrong)."""

import torch
import torch._dynamo

from restore_cli.archs.mambair import MambaIR
from restore_cli.bench import photo_input, seeded_model
from restore_cli.engine.compile import compile_targets

torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
x = photo_input(180, 320, torch.device("cuda"))
options = dict(MambaIR.compile_options)
for card in ("mambair-sr-x4", "mambairv2-base-x4"):
    torch._dynamo.reset()
    net = seeded_model(card, torch.device("cuda"))
    with torch.inference_mode():
        expected = net(x)
        for block in compile_targets(net):
            block.compile(dynamic=False, options=options)
        got = net(x)
    rel = ((got - expected).norm() / expected.norm()).item()
    print(f"{card}: float32 compiled with padding vs eager: rel L2 {rel:.2e}, finite {bool(got.isfinite().all())}",
          flush=True)

# bf16 at odd sizes (other padded shapes): compiled with the options vs eager bf16 and vs eager float32.
torch._dynamo.reset()
net = seeded_model("mambair-sr-x4", torch.device("cuda"))
compiled = seeded_model("mambair-sr-x4", torch.device("cuda"))
for block in compile_targets(compiled):
    block.compile(dynamic=False, options=options)
for h, w in ((97, 131), (64, 64), (33, 200), (120, 88)):
    x = photo_input(h, w, torch.device("cuda"))
    with torch.inference_mode():
        ref = net(x)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            eager = net(x).float()
            got = compiled(x).float()
    errors = [((a - ref).norm() / ref.norm()).item() for a in (eager, got)]
    print(f"mambair-sr-x4 {h}x{w} bf16: eager {errors[0]:.2e}, compiled+padding {errors[1]:.2e} (vs float32 eager)",
          flush=True)

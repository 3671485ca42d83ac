"""How far bf16 autocast takes the MambaIRv2 parity fixtures from their float32 outputs on the CPU, with
the window attention computed the official way, by the reference function, and with the Triton kernel's
rounding emulated (float32 logits and softmax, p rounded to bf16 for p.v). The fixtures amplify every branch
and route tokens by an argmax that one rounding can flip, so these errors are large and move with any
change of rounding (thirteenth session, 2026-11-24: v2light_x3 0.211 official / 0.201 kernel rounding,
v2_sr_x2 0.160 / 0.179, v2_sr_x4_ws16 0.090 / 0.094, v2_car_gray 0.082 / 0.076).

    python tools/jobs/fixture_bf16_attention_numerics.py
"""
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

import restore_cli.archs.mambair_v2 as v2
from restore_cli.archs import from_official
from restore_cli.ops.window_attention import window_attention_reference

F = Path("tests/fixtures/parity")
cases = json.loads((F / "cases.json").read_text())


def load(case):
    spec = cases[case]
    m = from_official(spec["official_class"], spec["kwargs"])
    w = load_file(F / f"{case}.weights.safetensors")
    m.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in w.items()}, strict=True)
    io = load_file(F / f"{case}.io.safetensors")
    return m.eval(), io["input"], io["output"]

def kernel_numerics(qkv, bias, *, num_heads, window_size, shift, scale):
    """The kernel's rounding: q.k of bf16 inputs accumulated in fp32, scaled in fp32, fp32 bias and softmax,
    p rounded to bf16 for p.v, output rounded to bf16."""
    from restore_cli.archs.windows import shifted_window_mask, window_partition, window_reverse
    _, h, w, c3 = qkv.shape
    c, ws, n = c3 // 3, window_size, window_size**2
    x = torch.roll(qkv, (-shift, -shift), (1, 2)) if shift else qkv
    win = window_partition(x, ws).reshape(-1, n, 3, num_heads, c // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = win[0].float(), win[1].float(), win[2]
    s = (q @ k.transpose(-2, -1)) * scale + bias.float()
    if shift:
        mask = shifted_window_mask(h, w, ws)
        nw = mask.shape[0]
        s = (s.view(-1, nw, num_heads, n, n) + mask[None, :, None]).view(-1, num_heads, n, n)
    p = torch.softmax(s, -1)
    o = (p.to(v.dtype).float() @ v.float()).to(v.dtype)
    o = window_reverse(o.transpose(1, 2).reshape(-1, ws, ws, c), ws, h, w)
    return torch.roll(o, (shift, shift), (1, 2)) if shift else o

def run(case, mode):
    m, x, exp = load(case)
    orig = v2.fast_path
    if mode != "official":
        fn = kernel_numerics if mode == "kernel" else window_attention_reference
        v2.fast_path = lambda module, t: isinstance(module, v2.WindowAttention) or orig(module, t)
        v2.window_attention = lambda qkv, bias, **kw: fn(qkv, bias, **kw)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(x).float()
    v2.fast_path = orig
    return ((out - exp).norm() / exp.norm()).item()

for case in sorted(c for c in cases if c.startswith("v2")):
    print(case, {mode: round(run(case, mode), 4) for mode in ("official", "reference-fn", "kernel")})

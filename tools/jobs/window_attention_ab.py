"""A/B of MambaIRv2's window attention (16x16 windows, relative position bias, shift mask) on a GPU.

Eager (as ``WindowAttention.forward`` computes today) against PyTorch's fused attention in its
variants, at the shapes of MambaIRv2 Base and light x4 with a 180x320 input (canvas 192x320: 240
windows). Prints median ms (CUDA events, 20 runs after warm-up) and the relative L2 error against the
float32 eager result. Run by tools/jobs/perf11a.sh.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from restore_cli.archs.windows import relative_position_index, shifted_window_mask
from restore_cli.bench import cuda_median_ms


def main() -> None:
    dev = torch.device("cuda")
    ws, n = 16, 256
    hh, ww = 192, 320
    n_windows = (hh // ws) * (ww // ws)
    rpi = relative_position_index(ws).to(dev)
    mask = shifted_window_mask(hh, ww, ws, device=dev)  # (nW, n, n)
    for label, dim, heads in (("v2 Base", 174, 6), ("v2 light", 48, 4)):
        for shifted in (False, True):
            bench_config(label, dim, heads, shifted, n_windows, n, ws, rpi, mask)


def bench_config(
    label: str,
    dim: int,
    heads: int,
    shifted: bool,
    n_windows: int,
    n: int,
    ws: int,
    rpi: torch.Tensor,
    mask: torch.Tensor,
) -> None:
    """Every variant for one model's attention shape, plain or shifted windows."""
    dev = rpi.device
    d = dim // heads
    scale = d**-0.5
    torch.manual_seed(0)
    qkv = torch.randn(n_windows, n, 3 * dim, device=dev)
    table = torch.randn((2 * ws - 1) ** 2, heads, device=dev) * 0.5
    bias = table[rpi.reshape(-1)].view(n, n, heads).permute(2, 0, 1).contiguous()  # (h, n, n)

    def split(t: torch.Tensor, pad_to: int = 0):
        q, k, v = t.reshape(n_windows, n, 3, heads, d).permute(2, 0, 3, 1, 4).unbind(0)
        if pad_to > d:
            q, k, v = (F.pad(z, (0, pad_to - d)) for z in (q, k, v))
        return q, k, v

    def eager(t: torch.Tensor, shifted: bool) -> torch.Tensor:
        q, k, v = split(t)
        attn = (q * scale) @ k.transpose(-2, -1) + bias[None]
        if shifted:
            attn = attn + mask[:, None].to(attn.dtype)
        return (attn.softmax(-1) @ v).transpose(1, 2).reshape(n_windows, n, dim)

    def sdpa(t: torch.Tensor, shifted: bool, pad_to: int = 0) -> torch.Tensor:
        q, k, v = split(t, pad_to)
        m = bias[None] + mask[:, None] if shifted else bias[None].expand(n_windows, -1, -1, -1)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=m.to(q.dtype), scale=scale)
        return y[..., :d].transpose(1, 2).reshape(n_windows, n, dim)

    flex = None
    try:
        from torch.nn.attention.flex_attention import flex_attention

        flex_c = torch.compile(flex_attention, dynamic=False)

        def flex(t: torch.Tensor, shifted: bool, pad_to: int = 0) -> torch.Tensor:
            q, k, v = split(t, pad_to)

            def score_mod(score, b, h, qi, ki):
                s = score + bias[h, qi, ki]
                if shifted:
                    s = s + mask[b, qi, ki]
                return s

            y = flex_c(q, k, v, score_mod=score_mod, scale=scale)
            return y[..., :d].transpose(1, 2).reshape(n_windows, n, dim)
    except Exception as exc:
        print(f"flex_attention unavailable: {exc}")

    eager_c = torch.compile(eager, dynamic=False)
    ref = eager(qkv, shifted)
    variants = {
        "eager bf16": lambda: eager(qkv, shifted),
        "eager bf16 compiled": lambda: eager_c(qkv, shifted),
        "sdpa default, d as is": lambda: sdpa(qkv, shifted),
        "sdpa efficient, d->32": lambda: sdpa(qkv, shifted, 32),
        "sdpa cudnn, d->32": lambda: sdpa(qkv, shifted, 32),
        "sdpa efficient, d as is": lambda: sdpa(qkv, shifted),
    }
    backends = {
        "sdpa efficient, d->32": SDPBackend.EFFICIENT_ATTENTION,
        "sdpa efficient, d as is": SDPBackend.EFFICIENT_ATTENTION,
        "sdpa cudnn, d->32": SDPBackend.CUDNN_ATTENTION,
    }
    if flex is not None:
        variants["flex, d as is"] = lambda: flex(qkv, shifted)
        variants["flex, d->32"] = lambda: flex(qkv, shifted, 32)
    for name, fn in variants.items():

        def run(fn=fn, name=name):
            with torch.autocast("cuda", dtype=torch.bfloat16), torch.inference_mode():
                if name in backends:
                    with sdpa_kernel(backends[name]):
                        return fn()
                return fn()

        try:
            out = run()
            err = ((out.float() - ref).norm() / ref.norm()).item()
            ms = cuda_median_ms(run)
            print(f"{label:8s} shifted={shifted!s:5s} {name:26s} {ms:7.3f} ms  relL2 {err:.1e}")
        except Exception as exc:
            print(f"{label:8s} shifted={shifted!s:5s} {name:26s} failed: {str(exc).splitlines()[0][:120]}")


if __name__ == "__main__":
    main()

"""The reconstruction head (``RestorationNet.forward_head`` around a fixed deep-feature tensor) with its
float32 image-space convolutions on the tensors' own layouts (before) or channels-last
(``head_channels_last``), bf16 autocast as in the engine: GPU time from CUDA graphs (interleaved medians),
the head's conv kernels, and the two outputs' difference.

    python tools/jobs/head_layout_ab.py
"""

from __future__ import annotations

import statistics

import torch

from restore_cli.bench import cuda_graph_us, photo_input, seeded_model

CASES = [("mambairv2-light-x4", 180, 320), ("mambair-light-x4", 180, 320), ("mambair-sr-x4", 180, 320),
         ("mambairv2-base-x4", 180, 320), ("mambair-dn-color-s25", 720, 1280)]


def conv_kernels(run) -> str:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        run()
        torch.cuda.synchronize()
    events = sorted((e for e in prof.key_averages() if e.self_device_time_total > 0),
                    key=lambda e: -e.self_device_time_total)
    return "; ".join(f"{e.self_device_time_total:.0f} us x{e.count} {e.key[:70]}" for e in events[:6])


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    rows = []
    for card, h, w in CASES:
        net = seeded_model(card, torch.device("cuda"))
        x = photo_input(h, w, torch.device("cuda"))
        deep_features, cache = net.forward_features, {}
        # the body's real output (its size and layout) once, then replayed: only the head is timed
        net.forward_features = lambda first, f=deep_features, c=cache: c["body"] if c else c.setdefault("body",
                                                                                                     f(first))

        def head(n=net, inp=x):
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                return n(inp)

        outs, times, kernels = {}, {False: [], True: []}, {}
        for layout in (False, True):
            net.head_channels_last = layout
            outs[layout] = head().float()
            kernels[layout] = conv_kernels(head)
        for _ in range(5):
            for layout in (False, True):
                net.head_channels_last = layout
                times[layout].append(cuda_graph_us(head, calls=3))
        rel = ((outs[True] - outs[False]).norm() / outs[False].norm()).item()
        rows.append(f"| {card}, {h}x{w} in | {statistics.median(times[False]):.0f} us | "
                    f"{statistics.median(times[True]):.0f} us | {rel:.1e} |")
        for layout in (False, True):
            print(f"{card} channels_last={layout}: {kernels[layout]}", flush=True)
        print(rows[-1], flush=True)
    print("| head | own layouts | channels-last | rel difference |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

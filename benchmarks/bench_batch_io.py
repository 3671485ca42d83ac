"""A folder of photos, end to end: decoding, restoring and writing one after another vs overlapped.

``restore sr in/ out/`` runs each model in a three-stage pipeline (:func:`restore_cli.cli.runner.run_jobs`:
the next file decodes and the previous one encodes while the model runs). This times both ways on the
same files and model, after one warm-up image (Triton compilation, CUDA graph capture)::

    python benchmarks/bench_batch_io.py --device cuda --precision bf16           # GPU: MambaIR classic x4
    python benchmarks/bench_batch_io.py --device cpu --card restore-sr-x4 --size 64 96 --count 4

Photos are tiles of scikit-image's astronaut at ``--size H W``, saved as PNG; outputs are PNG (``--ext``).
The model is the card's architecture with seeded random weights (no download). Prints one markdown
table: per-image stage times (median), total wall time one after another and pipelined, and the speed-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--card", default="mambair-sr-x4", help="catalog id whose architecture is timed")
    parser.add_argument("--size", type=int, nargs=2, default=(540, 960), metavar=("H", "W"),
                        help="input size (default 540 960: 4K output at x4)")
    parser.add_argument("--count", type=int, default=6, help="photos in the folder")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--ext", default="png")
    args = parser.parse_args()

    from restore_cli.batch import Job
    from restore_cli.bench import photo_input, seeded_model
    from restore_cli.cli.runner import run_jobs
    from restore_cli.restorer import Restorer

    device = torch.device(args.device)
    module = seeded_model(args.card, device)
    restorer = Restorer.from_module(module, arch=module.__class__.__name__, device=args.device,
                                    precision=args.precision, compile=args.compile)
    h, w = args.size
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        photo = (photo_input(h, w, torch.device("cpu"))[0].permute(1, 2, 0).numpy() * 255).round()
        sources = []
        for i in range(args.count + 1):  # the first is the warm-up
            path = root / "in" / f"{i}.png"
            Image.fromarray(np.roll(photo, 7 * i, axis=1).astype(np.uint8)).save(path)
            sources.append(path)
        restorer.restore_file(sources[0], root / f"warm.{args.ext}")

        stages: dict[str, list[float]] = {"read": [], "restore": [], "write": []}
        start = time.perf_counter()
        for path in sources[1:]:  # one after another, each stage timed
            t0 = time.perf_counter()
            image = restorer.read_input(path)
            t1 = time.perf_counter()
            out = restorer.restore_array(image.rgb)
            t2 = time.perf_counter()
            restorer.write_output(root / f"serial_{path.stem}.{args.ext}", out, image)
            t3 = time.perf_counter()
            for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                stages[name].append(seconds)
        serial = time.perf_counter() - start

        jobs = [Job(p, root / "out" / f"{p.stem}.{args.ext}", p.name) for p in sources[1:]]
        start = time.perf_counter()
        results = run_jobs([restorer], jobs, task="sr", overwrite=False, gt=None, metric_mode=None,
                           crop_border=None, quiet=True, json_lines=False, max_pixels=None)
        pipelined = time.perf_counter() - start
        assert all(r.status == "ok" for r in results), [r.error for r in results]

    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{args.card}, {h}x{w} in, {args.count} photos, {args.precision}"
          f"{' + compile' if args.compile else ''}, {args.ext} out, {device_name}, "
          f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")
    print("| read (median) | restore | write | one after another | pipelined | speed-up |")
    print("|---|---|---|---|---|---|")
    med = {name: statistics.median(v) for name, v in stages.items()}
    print(f"| {med['read'] * 1e3:.0f} ms | {med['restore'] * 1e3:.0f} ms | {med['write'] * 1e3:.0f} ms "
          f"| {serial:.2f} s | {pipelined:.2f} s | {serial / pipelined:.2f}x |")


if __name__ == "__main__":
    main()

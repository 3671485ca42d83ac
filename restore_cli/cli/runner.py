"""Run a planned batch with rich progress, per-file errors, metrics and machine-readable output.

One bad file never stops the batch: its error is one line, the rest still runs, and the exit status
says whether everything succeeded. Several CUDA devices each get their own model copy and pull files
from a shared queue; each overlaps decoding, restoring and writing (:func:`run_jobs`).
"""

from __future__ import annotations

import csv
import json
import math
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ..batch import Job, find_ground_truth, metric_convention
from ..errors import RestoreError

err_console = Console(stderr=True, soft_wrap=True, markup=False)  # paths may contain "[...]"


# Images encoded and written at once per model (PNG/JPEG encoders release the GIL): two on a small
# machine, up to four where there are cores to spare.
WRITERS = min(4, max(2, (os.cpu_count() or 2) // 4))
# Host memory the overlap may add: the next image is decoded beside the current one only when the current
# one is below PREFETCH_BYTES (float32 pixels; 1 GiB is ~90 MP of RGB), and restored images waiting for
# their writer hold at most PENDING_BYTES together (one always may).
PREFETCH_BYTES = 1 << 30
PENDING_BYTES = 2 << 30


def _metrics(result: Any, target: Path, gt_path: Path, task: str, scale: int, mode: str | None,
             crop: int | None) -> None:
    from .. import io, metrics

    channel, border = metric_convention(task, mode, crop, scale)
    out, ref = io.read_image(target).rgb, io.read_image(gt_path).rgb
    if out.shape[2] != ref.shape[2]:  # compare gray with gray (BT.601 luminance)
        out, ref = io.rgb_to_y(out), io.rgb_to_y(ref)
    # A ground truth up to scale - 1 pixels larger per side is BasicSR's "modcrop" case (an LR image made
    # from a crop to a multiple of the scale): cropped to the output. Anything else is a wrong pairing.
    dh, dw = ref.shape[0] - out.shape[0], ref.shape[1] - out.shape[1]
    if not (0 <= dh < max(scale, 1) and 0 <= dw < max(scale, 1)):
        raise ValueError(f"ground truth {gt_path} is {ref.shape[1]}x{ref.shape[0]} but the output is "
                         f"{out.shape[1]}x{out.shape[0]}; is it the right image?")
    h, w = out.shape[0], out.shape[1]
    out, ref = (metrics.quantize(x[:h, :w]) for x in (out, ref))
    out, ref = (x[:, :, 0] if x.shape[2] == 1 else x for x in (out, ref))
    kw = {"crop_border": border, "y_channel": channel != "rgb"}
    if channel == "y-matlab":
        kw["y_matlab"] = True
    result.psnr = float(metrics.psnr(out, ref, **kw))
    result.ssim = float(metrics.ssim(out, ref, **kw))


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    """A result row as strict JSON allows: an infinite PSNR (output identical to its ground truth) or any
    other non-finite number becomes null, which every JSON parser reads (Python writes ``Infinity``)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


def _naming(source: Path, error: object) -> str:
    """A per-file error message that names the file (most do already; metric and model errors do not)."""
    text = str(error)
    return text if str(source) in text else f"{source}: {text}"


def _conflicts(jobs: list[Job], overwrite: bool) -> dict[int, str]:
    """Jobs that must fail before they start: a target that an earlier job also writes (``a.jpg`` and
    ``a.png`` with ``--ext png``), or, with ``overwrite``, a target that is another input of the batch.
    Files run concurrently, so "the first one wins, the next is skipped" would be a race, not a rule."""
    def key(path: Path) -> Path:
        return path.resolve() if path.exists() else path.absolute()

    sources = {key(job.source): job.source for job in jobs}
    first: dict[Path, Path] = {}
    found = {}
    for i, job in enumerate(jobs):
        target = key(job.target)
        if target in first:
            found[i] = (f"{job.source}: its output {job.target} is also the output of {first[target]}; "
                        "use --suffix, or leave out --ext")
        elif overwrite and target in sources and sources[target] != job.source:
            found[i] = (f"{job.source}: its output {job.target} is another input of this batch; "
                        "refusing to overwrite it (use --suffix or -o)")
        first.setdefault(target, job.source)
    return found


def run_jobs(
    restorers: list[Any],
    jobs: list[Job],
    *,
    task: str,
    overwrite: bool,
    gt: Path | None,
    metric_mode: str | None,
    crop_border: int | None,
    quiet: bool,
    json_lines: bool,
    max_pixels: int | None,
    encoding: dict[str, Any] | None = None,
) -> list[Any]:
    """Process every job; returns the FileResults in job order (``encoding``: output quality and PNG
    compression, passed to :meth:`restore_cli.restorer.Restorer.write_output`).

    Each model runs in a pipeline of three stages: while it restores one image, the next one is being
    decoded and the previous one encoded and written, each in a thread of its own (decoders and encoders
    release the GIL). On a GPU a 4K PNG takes longer to write than to restore (H100 host: 1.6 s against
    1.2 s for MambaIR classic x4 in bf16), so a folder would otherwise leave the GPU idle most of the time
    (chaiNNer #1274); several writer threads encode images at once (two give 1.7x the throughput of
    one on two cores). :data:`WRITERS`, :data:`PREFETCH_BYTES` and :data:`PENDING_BYTES` bound the host
    memory the overlap adds.
    """
    from ..restorer import FileResult

    results: list[Any] = [None] * len(jobs)
    show = not quiet and err_console.is_terminal
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err_console, transient=True, disable=not show,
    )
    files_task = progress.add_task("images", total=len(jobs))
    tiles_task = progress.add_task("tiles", total=1, visible=False)
    lock = threading.Lock()
    work: queue.Queue[int] = queue.Queue()
    for i in range(len(jobs)):
        work.put(i)

    def on_tiles(done: int, total: int) -> None:
        with lock:
            progress.update(tiles_task, completed=done, total=total, visible=total > 1)

    def guarded(i: int, step: Callable[[], Any]) -> Any:
        """``step()``, or a failed FileResult naming the file: one bad file must not stop the batch."""
        job = jobs[i]
        try:
            return step()
        except (RestoreError, OSError, ValueError, FloatingPointError) as exc:
            return FileResult(str(job.source), str(job.target), "failed", error=_naming(job.source, exc))
        except Exception as exc:  # a model crash on one file must not stop the batch
            return FileResult(str(job.source), str(job.target), "failed",
                              error=_naming(job.source, f"{exc.__class__.__name__}: {exc}"))

    def record(i: int, result: Any) -> None:
        results[i] = result
        with lock:
            progress.advance(files_task)
            if result.status == "failed":
                progress.console.print(Text.assemble(("error", "red"), f" {result.error}"), highlight=False)
            elif result.warning:  # restored, but something asked for is missing (its ground truth)
                progress.console.print(Text.assemble(("warning", "yellow"), f" {jobs[i].source}: {result.warning}"),
                                       highlight=False)
            if json_lines:
                sys.stdout.write(json.dumps(_json_safe(asdict(result)), allow_nan=False) + "\n")
                sys.stdout.flush()

    conflicts = _conflicts(jobs, overwrite)

    def worker(restorer: Any) -> None:
        def prepare(i: int) -> tuple[Any, float] | None:
            """The file's checks, its decoded image and the seconds decoding took (None: skipped, its
            output exists)."""
            job = jobs[i]
            if i in conflicts:
                raise RestoreError(conflicts[i])
            if job.target.exists():
                if job.source.exists() and job.source.resolve() == job.target.resolve():
                    raise RestoreError(f"{job.source}: output would overwrite the input; use --suffix or -o")
                if not overwrite:
                    check_earlier_output(job)
                    return None
            start = time.perf_counter()
            image = restorer.read_input(job.source, max_pixels=max_pixels)
            return image, time.perf_counter() - start

        def check_earlier_output(job: Job) -> None:
            """An existing output image is skipped only if it has the size this command makes of its input: one
            of another command's outputs in a shared folder (a denoised ``a.png`` where ``restore sr`` would
            write ``a.png``) is named, not taken for done."""
            from .. import io

            try:
                found = io.image_size(job.target)
                expected = restorer.output_size(*io.image_size(job.source))
            except RestoreError:  # not an image (a user's file where the output goes), or no input: skipped
                return
            if found != expected:
                raise RestoreError(f"{job.source}: its output {job.target} exists but is {found[1]}x{found[0]}, not "
                                   f"the {expected[1]}x{expected[0]} this command makes; use --overwrite to "
                                   "replace it, or another output")

        def score(i: int, result: Any) -> Any:
            """``result`` with the PSNR/SSIM of its written output against its ground truth, where --gt."""
            job = jobs[i]
            if gt is not None:
                gt_path = find_ground_truth(gt, job, single=len(jobs) == 1)
                if gt_path is None:
                    result.warning = f"no ground truth for it in {gt}: no PSNR/SSIM"
                else:
                    _metrics(result, job.target, gt_path, task, restorer.model.scale, metric_mode, crop_border)
            return result

        def skipped(i: int) -> Any:
            """A file whose output exists: skipped, and scored like a restored one, so that a resumed
            evaluation still reports every image (and a wrong pairing fails again)."""
            return score(i, FileResult(str(jobs[i].source), str(jobs[i].target), "skipped"))

        def finish(i: int, image: Any, out: Any, seconds: float) -> None:
            """Write, then score: ``seconds`` (decoding and restoring) plus the write is the file's time."""
            job = jobs[i]

            def write() -> Any:
                start = time.perf_counter()
                try:  # only now: a file that fails earlier leaves no empty folder behind
                    job.target.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise RestoreError(f"{job.source}: cannot create the output folder {job.target.parent} "
                                       f"({exc.strerror or exc})") from None
                restorer.write_output(job.target, out, image, **(encoding or {}))
                return score(i, FileResult(str(job.source), str(job.target), "ok",
                                           seconds + time.perf_counter() - start, out.shape[1], out.shape[0]))

            record(i, guarded(i, write))

        def submit_next(reader: ThreadPoolExecutor) -> tuple[int, Future] | None:
            try:
                i = work.get_nowait()
            except queue.Empty:
                return None
            return i, reader.submit(prepare, i)

        with ThreadPoolExecutor(1, thread_name_prefix="restore-read") as reader, \
                ThreadPoolExecutor(WRITERS, thread_name_prefix="restore-write") as writer:
            writes: deque[tuple[Future, int]] = deque()
            ahead = submit_next(reader)
            while ahead is not None:
                i, reading = ahead
                decoded = guarded(i, reading.result)
                if decoded is None or isinstance(decoded, FileResult):
                    ahead = submit_next(reader)
                    record(i, decoded or guarded(i, lambda i=i: skipped(i)))
                    continue
                image, seconds = decoded
                small = image.rgb.nbytes <= PREFETCH_BYTES
                ahead = submit_next(reader) if small else None  # decode the next one while this one runs
                start = time.perf_counter()
                out = guarded(i, lambda image=image: restorer.restore_array(image.rgb, progress=on_tiles))
                seconds += time.perf_counter() - start
                if ahead is None:  # a huge image: its successor is decoded only now, not beside it
                    ahead = submit_next(reader)
                if isinstance(out, FileResult):
                    record(i, out)
                    continue
                while writes and (len(writes) >= WRITERS or sum(n for _, n in writes) + out.nbytes > PENDING_BYTES):
                    writes.popleft()[0].result()
                writes.append((writer.submit(finish, i, image, out, seconds), out.nbytes))
            for pending, _ in writes:
                pending.result()

    with progress:
        if len(restorers) == 1:
            worker(restorers[0])
        else:
            threads = [threading.Thread(target=worker, args=(r,), daemon=True) for r in restorers]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    return results


def summarise(results: list[Any], *, quiet: bool, with_metrics: bool, report: Path | None,
              convention: str | None = None) -> int:
    """Print the summary (and metrics table, titled with the metric ``convention``), write the report;
    return the exit status."""
    ok = [r for r in results if r.status == "ok"]
    skipped = [r for r in results if r.status == "skipped"]
    failed = [r for r in results if r.status == "failed"]
    scored = [r for r in results if r.status != "failed" and r.psnr is not None]
    if with_metrics and scored and not quiet:
        table = Table(title=f"PSNR / SSIM ({convention})" if convention else "PSNR / SSIM")
        for col in ("image", "PSNR (dB)", "SSIM"):
            table.add_column(col)
        for r in scored:
            table.add_row(Path(r.source).name, f"{r.psnr:.4f}", f"{r.ssim:.6f}")
        mean_p = sum(r.psnr for r in scored) / len(scored)
        mean_s = sum(r.ssim for r in scored) / len(scored)
        table.add_row(Text("mean", "bold"), Text(f"{mean_p:.4f}", "bold"), Text(f"{mean_s:.6f}", "bold"))
        err_console.print(table)
    report_failed = False
    if report is not None:
        try:
            _write_report(report, results, convention)
        except OSError as exc:
            report_failed = True
            err_console.print(Text.assemble(("error", "red"), f" cannot write the report {report} "
                                            f"({exc.strerror or exc})"), highlight=False)
    if not quiet:
        parts = [f"{len(ok)} restored"]
        if skipped:
            parts.append(f"{len(skipped)} skipped (output exists; --overwrite to redo)")
        if failed:
            parts.append(f"{len(failed)} failed")
        unscored = len(ok) + len(skipped) - len(scored)
        if with_metrics and unscored:
            parts.append(f"{unscored} without ground truth (not in the PSNR/SSIM mean)")
        err_console.print(", ".join(parts), highlight=False)
    return 1 if failed or report_failed else 0  # each failure was reported on its own line as it happened


def _write_report(path: Path, results: list[Any], convention: str | None = None) -> None:
    from ..batch import atomic_write_text

    rows = [_json_safe(asdict(r)) for r in results]
    scored = [r for r in results if r.status != "failed" and r.psnr is not None]
    if path.suffix.lower() == ".csv":
        import io as _io

        buf = _io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["source"])
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(path, buf.getvalue())
    else:
        summary = {}
        if scored:
            summary = _json_safe({"psnr": sum(r.psnr for r in scored) / len(scored),
                                  "ssim": sum(r.ssim for r in scored) / len(scored), "count": len(scored),
                                  "convention": convention})
        atomic_write_text(path, json.dumps({"images": rows, "mean": summary}, indent=2, allow_nan=False) + "\n")

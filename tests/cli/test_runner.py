"""The batch runner overlaps decoding, restoring and writing, and keeps each file's failure its own."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from restore_cli.batch import Job
from restore_cli.cli.runner import run_jobs

WAIT = 5.0  # seconds a stage waits for the overlap it expects; a serial runner never gives it


class RecordingRestorer:
    """A stand-in model whose stages wait for the overlap a pipelined runner gives.

    Restoring file 0 waits until file 1 is being read (read-ahead); writing file 0 waits until file 1
    is being restored (write-behind). Run serially, each wait times out and records False.
    """

    model = SimpleNamespace(scale=1)

    def __init__(self, bad: str | None = None, wait: float = WAIT) -> None:
        self.wait = wait
        self.reading = {name: threading.Event() for name in ("0.png", "1.png", "2.png")}
        self.restoring = {name: threading.Event() for name in ("0.png", "1.png", "2.png")}
        self.overlapped: dict[str, bool] = {}
        self.written: list[str] = []
        self.bad = bad

    def read_input(self, source: Path, *, max_pixels: int | None = None) -> SimpleNamespace:
        self.reading[source.name].set()
        if source.name == self.bad:
            raise ValueError(f"{source}: not an image")
        return SimpleNamespace(rgb=np.zeros((2, 2, 3), np.float32), name=source.name)

    def restore_array(self, rgb: np.ndarray, *, progress=None) -> np.ndarray:
        name = next(n for n, e in self.restoring.items() if not e.is_set())
        self.restoring[name].set()
        if name == "0.png":
            self.overlapped["read-ahead"] = self.reading["1.png"].wait(self.wait)
        return rgb

    def write_output(self, target: Path, out: np.ndarray, image: SimpleNamespace) -> None:
        if image.name == "0.png":
            self.overlapped["write-behind"] = self.restoring["1.png"].wait(self.wait)
        target.write_bytes(b"x")
        self.written.append(image.name)


def jobs_in(tmp_path: Path) -> list[Job]:
    jobs = []
    for i in range(3):
        source = tmp_path / "in" / f"{i}.png"
        source.parent.mkdir(exist_ok=True)
        source.write_bytes(b"png")
        jobs.append(Job(source, tmp_path / "out" / f"{i}.png", f"{i}.png"))
    return jobs


def run(restorer: RecordingRestorer, jobs: list[Job]) -> list:
    return run_jobs([restorer], jobs, task="denoise", overwrite=False, gt=None, metric_mode=None,
                    crop_border=None, quiet=True, json_lines=False, max_pixels=None)


def test_next_file_is_read_and_previous_written_while_one_is_restored(tmp_path):
    restorer = RecordingRestorer()
    results = run(restorer, jobs_in(tmp_path))
    assert restorer.overlapped == {"read-ahead": True, "write-behind": True}
    assert [r.status for r in results] == ["ok"] * 3
    assert sorted(restorer.written) == ["0.png", "1.png", "2.png"]


def test_a_bad_file_in_the_pipeline_fails_alone(tmp_path):
    jobs = jobs_in(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "2.png").write_bytes(b"mine")  # an existing output: skipped, not overwritten
    restorer = RecordingRestorer(bad="1.png", wait=0.2)  # file 1 never restores
    results = run(restorer, jobs)
    assert [r.status for r in results] == ["ok", "failed", "skipped"]
    assert "1.png" in results[1].error and "not an image" in results[1].error
    assert (tmp_path / "out" / "2.png").read_bytes() == b"mine" and restorer.written == ["0.png"]


def test_huge_images_are_not_decoded_side_by_side_and_pending_writes_are_bounded(tmp_path, monkeypatch):
    import time

    from restore_cli.cli import runner

    class CountingRestorer(RecordingRestorer):
        active = most = 0

        def write_output(self, target, out, image):
            type(self).active += 1
            type(self).most = max(self.most, self.active)
            time.sleep(0.05)
            super().write_output(target, out, image)
            type(self).active -= 1

    monkeypatch.setattr(runner, "PREFETCH_BYTES", 0)  # every image counts as huge
    monkeypatch.setattr(runner, "PENDING_BYTES", 0)  # one restored image waits for its writer at a time
    restorer = CountingRestorer(wait=0.2)
    results = run(restorer, jobs_in(tmp_path))
    assert [r.status for r in results] == ["ok"] * 3
    assert restorer.overlapped["read-ahead"] is False  # file 1 was read only after file 0 was restored
    assert restorer.overlapped["write-behind"] is True and CountingRestorer.most == 1

"""tools/gpu_jobs.sh: background runs from a job file, then the latest export of each packed for collection."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from PIL import Image

_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "gpu_jobs.sh"


@pytest.mark.skipif(shutil.which("setsid") is None or shutil.which("bash") is None, reason="needs bash and setsid")
def test_start_then_watch_packs_each_runs_export(tmp_path):
    from skimage import data

    for part, crop in (("train", data.astronaut()[:48, :48]), ("val", data.coffee()[:32, :32])):
        (tmp_path / "photos" / part).mkdir(parents=True)
        Image.fromarray(crop).save(tmp_path / "photos" / part / f"{part}.png")
    (tmp_path / "tiny.jobs").write_text(
        "# a comment line, then one job\n"
        "tiny-x2 --task sr --scale 2 --arch tiny --data photos --patch 16 --batch-size 2 --max-steps 2 "
        "--val-crop 32 --device cpu --workers 0 --export-id restore-t-x2\n"
    )
    env = {**os.environ, "POLL": "1"}
    started = subprocess.run(["bash", str(_SCRIPT), "start", "tiny.jobs", "1"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0 and "started tiny-x2" in started.stdout
    watched = subprocess.run(["bash", str(_SCRIPT), "watch", "240", "out"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert watched.returncode == 0, watched.stderr
    assert "finished at step 2/2" in watched.stdout  # the run's last log line is reported
    with tarfile.open(tmp_path / "out" / "tiny-x2.tar") as tar:
        names = set(tar.getnames())
    assert {"tiny-x2/snapshot/restore-t-x2.safetensors", "tiny-x2/snapshot/restore-t-x2.toml",
            "tiny-x2/val.jsonl", "tiny-x2.log"} <= names

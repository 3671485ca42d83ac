"""`restore sr|denoise|jpeg|derain|deblur` end to end on real image files with tiny local models."""

from __future__ import annotations

import csv
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from restore_cli.cli.app import app

runner = CliRunner()


def run(args, env):
    return runner.invoke(app, [str(a) for a in args], env=env)


def test_sr_one_file_to_named_output(photo, tmp_path, cards, env):
    src = photo(tmp_path / "in.png")
    r = run(["sr", "--scale", "2", "--model-card", cards["sr"], src, tmp_path / "out.png", "-q"], env)
    assert r.exit_code == 0, r.output
    out = Image.open(tmp_path / "out.png")
    assert out.size == (48, 40) and out.mode == "RGB"


def test_scale_comes_from_the_model_and_must_agree_with_it(photo, tmp_path, cards, env):
    src = photo(tmp_path / "in.png")
    r = run(["sr", "--model-card", cards["sr"], src, "-q"], env)  # an x2 card, no --scale
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "in_x2.png").size == (48, 40)  # named and sized by the model's scale
    r = run(["sr", "--scale", "4", "--model-card", cards["sr"], src, "-o", tmp_path / "o", "-q"], env)
    assert r.exit_code == 2 and "--scale 4" in r.output and "x2" in r.output
    assert not (tmp_path / "o").exists()


def test_folder_to_folder_with_bad_file_continues_and_fails_overall(photo, tmp_path, cards, env):
    for i in range(3):
        photo(tmp_path / "in" / f"p{i}.png", seed=i)
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "in" / "empty.jpg").write_bytes(b"")
    r = run(["denoise", "--model-card", cards["denoise"], tmp_path / "in", tmp_path / "out", "--json"], env)
    assert r.exit_code == 1
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    status = {line["source"].rsplit("/", 1)[-1]: line["status"] for line in lines}
    assert status == {"p0.png": "ok", "p1.png": "ok", "p2.png": "ok", "broken.png": "failed", "empty.jpg": "failed"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p1.png", "p2.png"]
    failed = [line for line in lines if line["status"] == "failed"]
    assert all("broken.png" in f["error"] or "empty.jpg" in f["error"] for f in failed)


def test_existing_outputs_are_skipped_then_overwritten(photo, tmp_path, cards, env):
    src = photo(tmp_path / "a.png")
    target = tmp_path / "a_denoised.png"
    target.write_bytes(b"user data")
    r = run(["denoise", "--model-card", cards["denoise"], src], env)
    assert r.exit_code == 0, r.output
    assert target.read_bytes() == b"user data"  # skipped: never lose what a user owns
    assert "skipped" in r.output
    r = run(["denoise", "--model-card", cards["denoise"], src, "--overwrite", "-q"], env)
    assert r.exit_code == 0
    assert Image.open(target).size == (24, 20)


def test_glob_never_takes_the_last_image_as_output(photo, tmp_path, cards, env):
    a, b = photo(tmp_path / "a.png"), photo(tmp_path / "b.png", seed=1)
    before = b.read_bytes()
    r = run(["sr", "-s", "2", "--model-card", cards["sr"], a, b, "-q"], env)
    assert r.exit_code == 0, r.output
    assert b.read_bytes() == before
    assert (tmp_path / "a_x2.png").exists() and (tmp_path / "b_x2.png").exists()


def test_never_writes_over_an_input(photo, tmp_path, cards, env):
    src = photo(tmp_path / "a.png")
    before = src.read_bytes()
    r = run(["denoise", "--model-card", cards["denoise"], src, "--suffix", "", "--overwrite", "-q"], env)
    assert r.exit_code == 1
    assert "overwrite the input" in r.output
    assert src.read_bytes() == before


def test_metrics_with_ground_truth_and_reports(photo, tmp_path, cards, env):
    photo(tmp_path / "in" / "a.png")
    photo(tmp_path / "gt" / "a.png")
    for report in ("r.json", "r.csv"):
        r = run(["denoise", "--model-card", cards["denoise"], tmp_path / "in", "-o", tmp_path / "out",
                 "--gt", tmp_path / "gt", "--report", tmp_path / report, "--overwrite"], env)
        assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["images"][0]["psnr"] > 0 and 0 < data["mean"]["ssim"] <= 1
    assert data["mean"]["convention"] == "RGB, no border cropped"  # denoising's, as the table's title says
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert float(rows[0]["psnr"]) == pytest.approx(data["images"][0]["psnr"])
    # the reported value is the BasicSR metric of the written file against the ground truth
    from restore_cli import io, metrics

    out = metrics.quantize(io.read_image(tmp_path / "out" / "a.png").rgb)
    gt = metrics.quantize(io.read_image(tmp_path / "gt" / "a.png").rgb)
    assert data["images"][0]["psnr"] == pytest.approx(metrics.psnr(out, gt), abs=1e-9)


def test_ground_truth_problems_are_named(photo, tmp_path, cards, env):
    src = photo(tmp_path / "in" / "a.png", size=(24, 20))
    photo(tmp_path / "in" / "b.png", size=(24, 20))
    r = run(["denoise", "--model-card", cards["denoise"], src, "--gt", tmp_path / "nowhere", "-q"], env)
    assert r.exit_code == 2 and "--gt" in r.output and "nowhere" in r.output
    # a wrong pairing (sizes that modcrop cannot explain) fails that file, naming both
    wrong = photo(tmp_path / "wrong.png", size=(12, 10))
    r = run(["denoise", "--model-card", cards["denoise"], src, "-o", tmp_path / "o1", "--gt", wrong, "-q"], env)
    assert r.exit_code == 1 and "a.png" in r.output and "wrong.png is 12x10" in r.output
    # a folder with a ground truth for a.png only: b.png is restored, warned about and left out of the mean
    photo(tmp_path / "gt" / "a.png", size=(24, 20))
    r = run(["denoise", "--model-card", cards["denoise"], tmp_path / "in", "-o", tmp_path / "o2", "--gt",
             tmp_path / "gt"], env)
    assert r.exit_code == 0, r.output
    assert "b.png: no ground truth" in r.output and "1 without ground truth" in r.output
    # SR: a ground truth up to scale - 1 pixels larger per side is BasicSR's modcrop case, cropped to fit
    low = photo(tmp_path / "low.png", size=(12, 10))
    big = photo(tmp_path / "big.png", size=(25, 21))  # the x2 output is 24x20
    r = run(["sr", "--model-card", cards["sr"], low, "-o", tmp_path / "o3", "--gt", big, "-q"], env)
    assert r.exit_code == 0, r.output


def test_16bit_alpha_and_gray_round_trips(tmp_path, cards, env):
    rgba = (np.random.default_rng(0).random((20, 18, 4)) * 255).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    gray16 = (np.random.default_rng(1).random((16, 14)) * 65535).astype(np.uint16)
    Image.fromarray(gray16).save(tmp_path / "gray16.png")
    r = run(["sr", "-s", "2", "--model-card", cards["sr"], tmp_path / "rgba.png", tmp_path / "gray16.png",
             "-o", tmp_path / "out", "-q"], env)
    assert r.exit_code == 0, r.output
    from restore_cli import io

    a = io.read_image(tmp_path / "out" / "rgba.png")
    assert a.alpha is not None and a.rgb.shape == (40, 36, 3)
    g = io.read_image(tmp_path / "out" / "gray16.png")
    assert g.bit_depth == 16 and g.rgb.shape == (32, 28, 1)


def test_gray_model_restores_luminance_of_colour_jpeg(photo, tmp_path, cards, env):
    src = tmp_path / "c.jpg"
    Image.open(photo(tmp_path / "c.png")).save(src, quality=30)
    r = run(["jpeg", "--model-card", cards["jpeg"], src, tmp_path / "c_out.png", "-q"], env)
    assert r.exit_code == 0, r.output
    out = np.asarray(Image.open(tmp_path / "c_out.png"))
    assert out.shape == (20, 24, 3)


def test_shards_split_a_folder(photo, tmp_path, cards, env):
    for i in range(6):
        photo(tmp_path / "in" / f"{i}.png", size=(8, 8), seed=i)
    done = []
    for k in (1, 2):
        out = tmp_path / f"out{k}"
        r = run(["denoise", "--model-card", cards["denoise"], tmp_path / "in", out, "--shard", f"{k}/2", "-q"], env)
        assert r.exit_code == 0, r.output
        done.append({p.name for p in out.iterdir()} if out.exists() else set())
    assert done[0].isdisjoint(done[1]) and done[0] | done[1] == {f"{i}.png" for i in range(6)}


def test_errors_are_one_clear_line(photo, tmp_path, cards, env):
    r = run(["sr", "--model-card", cards["sr"], tmp_path / "missing.png", "-q"], env)
    assert r.exit_code == 1 and r.output.count("missing.png") == 1  # once, also with --quiet
    odd = tmp_path / "scan [b] [red].png"  # a real file named like a glob and like rich markup
    odd.write_bytes(b"not an image")
    r = run(["sr", "--model-card", cards["sr"], str(odd), "-q"], env)
    assert r.exit_code == 1 and "scan [b] [red].png" in r.output and "not a PNG" in r.output
    r = run(["sr", "--model-card", cards["sr"], str(tmp_path / "typo*.png"), "-q"], env)
    assert r.exit_code == 1 and "typo*.png" in r.output  # an unmatched pattern is not an empty success
    r = run(["sr", "--shard", "5/2", "--model-card", cards["sr"], tmp_path], env)
    assert r.exit_code == 2 and "--shard" in r.output
    r = run(["sr", "--model", "no-such-model", photo(tmp_path / "x.png")], env)
    assert r.exit_code != 0 and "no-such-model" in r.output
    r = run(["sr", "--device", "cuda:7", "--model-card", cards["sr"], tmp_path / "x.png"], env)
    assert r.exit_code == 2


@pytest.mark.parametrize("task", ["derain", "deblur"])
def test_tasks_without_a_model_say_what_is_missing(photo, tmp_path, env, task):
    r = run([task, photo(tmp_path / "x.png")], env)
    if r.exit_code == 0:
        pytest.skip(f"a {task} model is available")
    assert task in r.output.lower()
    assert len(r.output.strip().splitlines()) <= 3


def test_unwritable_output_folder_is_an_error_per_file(photo, tmp_path, cards, env):
    src = photo(tmp_path / "a.png")
    blocker = tmp_path / "out"
    blocker.write_text("a file where a folder should be")
    r = run(["denoise", "--model-card", cards["denoise"], src, "-o", blocker / "sub", "-q"], env)
    assert r.exit_code == 1
    assert blocker.read_text() == "a file where a folder should be"


def test_bundled_derain_runs_offline_out_of_the_box(photo, tmp_path, env):
    src = photo(tmp_path / "rainy.png", size=(32, 24))
    r = run(["derain", src, "-q", "--device", "cpu"], env)
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "rainy_derained.png").size == (32, 24)


def test_bench_needs_a_gpu(env):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    r = run(["bench"], env)
    assert r.exit_code == 2 and "CUDA" in r.output


def test_bench_rejects_unknown_paths(env):
    r = run(["bench", "--paths", "reference,turbo"], env)
    assert r.exit_code == 2 and "turbo" in r.output and "bf16+compile" in r.output


def test_offline_fresh_install_falls_back_to_the_bundled_model(photo, tmp_path, env):
    src = photo(tmp_path / "p.png", size=(16, 12))
    r = run(["sr", "--scale", "4", src, "--device", "cpu"], env)
    assert r.exit_code == 0, r.output
    assert "restore-sr-x4" in r.output and "bundled" in r.output
    assert Image.open(tmp_path / "p_x4.png").size == (64, 48)
    r = run(["sr", "--scale", "4", src, "--device", "cpu", "--no-fallback", "--overwrite"], env)
    assert r.exit_code == 1 and "mambairv2-base-x4" in r.output


@pytest.mark.parametrize("flags", [["--self-ensemble"], ["--official-tiling"], ["--precision", "bf16"],
                                   ["--tile", "16", "--tile-overlap", "4", "--batch-size", "2"]])
def test_run_options_produce_the_same_size(photo, tmp_path, cards, env, flags):
    src = photo(tmp_path / "a.png", size=(40, 30))
    r = run(["sr", "-s", "2", "--model-card", cards["sr"], src, tmp_path / "o.png", "-q", *flags], env)
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "o.png").size == (80, 60)


def test_exif_orientation_is_applied(photo, tmp_path, cards, env):
    img = Image.open(photo(tmp_path / "a.png", size=(24, 16)))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif.tobytes(), quality=95)
    r = run(["denoise", "--model-card", cards["denoise"], tmp_path / "r.jpg", tmp_path / "r_out.png", "-q"], env)
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "r_out.png").size == (16, 24)  # upright, as a viewer shows it


@pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                    reason="Inductor on the CPU needs a C++ compiler")
def test_compile_gives_the_same_image(photo, tmp_path, cards, env):
    src = photo(tmp_path / "in.png", size=(20, 16))
    for name, flags in (("eager.png", []), ("compiled.png", ["--compile"])):
        r = run(["sr", "--scale", "2", "--model-card", cards["sr"], src, tmp_path / name, "-q", *flags], env)
        assert r.exit_code == 0, r.output
    eager = np.asarray(Image.open(tmp_path / "eager.png"), dtype=np.int16)
    compiled = np.asarray(Image.open(tmp_path / "compiled.png"), dtype=np.int16)
    assert eager.shape == (32, 40, 3) and np.abs(eager - compiled).max() <= 1  # 8-bit rounding of ~1e-6


def test_autotune_compiles_in_max_autotune_mode(photo, tmp_path, cards, env, monkeypatch):
    """--autotune implies --compile and hands the blocks to torch.compile in the autotune mode; compiled
    kernels are kept in the restore cache."""
    import restore_cli.engine.compile as compile_module

    modes, caches = [], []

    def record(module, *, mode=None):
        modes.append(mode)
        caches.append(os.environ.get("TORCHINDUCTOR_CACHE_DIR"))
        return 0

    monkeypatch.setattr(compile_module, "compile_blocks", record)
    src = photo(tmp_path / "in.png", size=(20, 16))
    for flags, environment in ((["--compile"], env), (["--autotune"], {**env, "TORCHINDUCTOR_CACHE_DIR": "/x"})):
        r = run(["sr", "--scale", "2", "--model-card", cards["sr"], src, tmp_path / "out.png", "-q", "--overwrite",
                 *flags], environment)
        assert r.exit_code == 0, r.output
    assert modes == [None, compile_module.AUTOTUNE_MODE]
    # compiled kernels go to the restore cache, not the temporary folder; a user's own choice stands
    assert caches == [str(tmp_path / "home" / "inductor"), "/x"]


def test_outscale_resizes_the_model_output_alpha_included(tmp_path, cards, env):
    rgba = (np.random.default_rng(0).random((20, 24, 4)) * 255).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in.png")
    r = run(["sr", "--model-card", cards["sr"], "--outscale", "3", tmp_path / "in.png", "-q"], env)  # x2 model
    assert r.exit_code == 0, r.output
    from restore_cli import io

    out = io.read_image(tmp_path / "in_x3.png")  # named by the final scale
    assert out.rgb.shape == (60, 72, 3) and out.alpha is not None and out.alpha.shape[:2] == (60, 72)
    r = run(["sr", "--model-card", cards["sr"], "--outscale", "1.5", tmp_path / "in.png", "-q"], env)
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "in_x1.5.png").size == (36, 30)


@pytest.mark.parametrize("value", ["0", "-2", "17"])
def test_outscale_out_of_range_is_a_usage_error(photo, tmp_path, cards, env, value):
    src = photo(tmp_path / "in.png")
    r = run(["sr", "--model-card", cards["sr"], "--outscale", value, src, "-o", tmp_path / "o", "-q"], env)
    assert r.exit_code == 2 and "--outscale" in r.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("outscale", "scale"), [(1.0, 2), (2.0, 2), (2.5, 3), (3.5, 4), (8.0, 4)])
def test_outscale_picks_the_smallest_model_scale_that_reaches_it(outscale, scale):
    from restore_cli.cli.restore_cmd import TaskRequest, _fill_default_parameter

    req = TaskRequest(task="sr", paths=["x.png"], outscale=outscale)
    _fill_default_parameter(req)
    assert req.scale == scale and req.default_suffix() == f"_x{outscale:g}"


def test_output_quality_and_png_compression(photo, tmp_path, cards, env):
    src = photo(tmp_path / "in.png", size=(64, 48))
    sizes = {}
    for q in ("95", "30"):
        r = run(["sr", "--model-card", cards["sr"], src, tmp_path / f"q{q}.jpg", "--out-quality", q, "-q"], env)
        assert r.exit_code == 0, r.output
        sizes[q] = (tmp_path / f"q{q}.jpg").stat().st_size
    assert sizes["30"] < 0.7 * sizes["95"]
    for level in ("0", "9"):
        r = run(["sr", "--model-card", cards["sr"], src, tmp_path / f"c{level}.png", "--png-compression", level,
                 "-q"], env)
        assert r.exit_code == 0, r.output
    assert (tmp_path / "c0.png").stat().st_size > (tmp_path / "c9.png").stat().st_size
    for bad in (["--out-quality", "0"], ["--png-compression", "10"]):
        r = run(["sr", "--model-card", cards["sr"], src, tmp_path / "bad.png", *bad, "-q"], env)
        assert r.exit_code == 2 and bad[0] in r.output and not (tmp_path / "bad.png").exists()


def test_two_inputs_with_one_output_name_fail_the_second_not_the_batch(photo, tmp_path, cards, env):
    photo(tmp_path / "in" / "a.png", seed=1)
    photo(tmp_path / "in" / "a.jpg", seed=2)
    photo(tmp_path / "in" / "b.png", seed=3)
    r = run(["sr", "--model-card", cards["sr"], tmp_path / "in", "-o", tmp_path / "out", "--ext", "png", "-q"], env)
    assert r.exit_code == 1 and "also the output of" in r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]


def test_overwrite_never_replaces_another_input_of_the_batch(photo, tmp_path, cards, env):
    src = photo(tmp_path / "in" / "p.png", seed=1)
    earlier = photo(tmp_path / "in" / "p_x2.png", size=(10, 10), seed=2)  # an input that is p.png's target
    before = earlier.read_bytes()
    # both named on the command line: both are inputs, whatever their names
    r = run(["sr", "--model-card", cards["sr"], src, earlier, "--overwrite", "-q"], env)
    assert r.exit_code == 1 and "another input of this batch" in r.output
    assert earlier.read_bytes() == before and (tmp_path / "in" / "p_x2_x2.png").exists()
    assert src.exists()


def test_a_second_run_beside_the_inputs_leaves_the_first_runs_results_alone(photo, tmp_path, cards, env):
    """``restore sr -s 2 photos/`` twice: the second run skips what is done instead of upscaling a_x2.png to
    a_x2_x2.png; a file that merely ends like a result (no input of that name beside it) is still an input."""
    photo(tmp_path / "in" / "a.png", seed=1)
    photo(tmp_path / "in" / "solo_x2.png", seed=2)
    first = run(["sr", "--model-card", cards["sr"], tmp_path / "in"], env)
    assert first.exit_code == 0 and "2 restored" in first.output
    names = sorted(p.name for p in (tmp_path / "in").iterdir())
    assert names == ["a.png", "a_x2.png", "solo_x2.png", "solo_x2_x2.png"]
    second = run(["sr", "--model-card", cards["sr"], tmp_path / "in"], env)
    assert second.exit_code == 0 and "0 restored, 2 skipped" in second.output
    assert "2 file(s) left out as results of an earlier run" in second.output
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == names


def test_a_resumed_evaluation_scores_the_outputs_it_skips(photo, tmp_path, cards, env):
    """A second run with --gt skips the written output but still scores it (mean and report), and a wrong
    pairing fails again rather than turning into a success without metrics."""
    photo(tmp_path / "in" / "a [1].png", seed=1)  # glob characters in the name: still matched by name
    photo(tmp_path / "gt" / "a [1].png", seed=1)
    args = ["denoise", "--model-card", cards["denoise"], tmp_path / "in", "-o", tmp_path / "out", "--gt",
            tmp_path / "gt", "--report", tmp_path / "r.json"]
    first = run(args, env)
    assert first.exit_code == 0 and "no ground truth" not in first.output, first.output
    psnr = json.loads((tmp_path / "r.json").read_text())["images"][0]["psnr"]
    second = run(args, env)
    assert second.exit_code == 0 and "1 skipped" in second.output, second.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["images"][0]["status"] == "skipped" and data["images"][0]["psnr"] == pytest.approx(psnr)
    assert data["mean"]["count"] == 1
    wrong = photo(tmp_path / "wrong.png", size=(12, 10))
    src = tmp_path / "in" / "a [1].png"
    for _ in range(2):
        r = run(["denoise", "--model-card", cards["denoise"], src, "-o", tmp_path / "o2", "--gt", wrong, "-q"], env)
        assert r.exit_code == 1 and "wrong.png is 12x10" in r.output


def test_an_identical_ground_truth_is_valid_json(photo, tmp_path, cards, env):
    """PSNR of an output identical to its ground truth is infinite: strict JSON has no Infinity, so null."""
    src = photo(tmp_path / "a.png")
    assert run(["denoise", "--model-card", cards["denoise"], src, "-o", tmp_path / "out", "-q"], env).exit_code == 0
    r = run(["denoise", "--model-card", cards["denoise"], src, "-o", tmp_path / "out", "--gt", tmp_path / "out" /
             "a.png", "--json", "--report", tmp_path / "r.json", "-q"], env)
    assert r.exit_code == 0, r.output
    for text in (r.stdout.splitlines()[0], (tmp_path / "r.json").read_text()):
        assert "Infinity" not in text and "NaN" not in text
    assert json.loads(r.stdout.splitlines()[0])["psnr"] is None


def test_a_report_that_cannot_be_written_is_refused_before_any_work(photo, tmp_path, cards, env):
    src = photo(tmp_path / "a.png")
    (tmp_path / "d.json").mkdir()
    for report, why in ((tmp_path / "d.json", "is a folder"), (tmp_path / "r.txt", ".json or .csv"),
                        (src / "r.json", "cannot write in")):
        r = run(["denoise", "--model-card", cards["denoise"], src, "-o", tmp_path / "out", "--report", report], env)
        assert r.exit_code == 2 and why in r.output and "Traceback" not in r.output, r.output
        assert not (tmp_path / "out").exists()  # refused before restoring anything


def test_a_report_is_an_ordinary_file(photo, tmp_path, cards, env):
    src = photo(tmp_path / "a.png")
    r = run(["denoise", "--model-card", cards["denoise"], src, "-o", tmp_path / "out", "--report",
             tmp_path / "r.csv", "-q"], env)
    assert r.exit_code == 0, r.output
    from restore_cli.io import current_umask

    assert (tmp_path / "r.csv").stat().st_mode & 0o777 == 0o666 & ~current_umask()


def test_options_out_of_range_are_usage_errors_before_any_model_loads(photo, tmp_path, cards, env):
    src = photo(tmp_path / "a.png")
    # (--tile 4 is checked against the model's own smallest tile once the model is known: still exit 2)
    for extra in (["--tile", "4"], ["--tile", "-5"], ["--tile-overlap", "-1"], ["--batch-size", "0"],
                  ["--max-pixels", "0"], ["--metric", "foo"], ["--precision", "fp8"], ["--routing", "random"]):
        r = run(["denoise", "--model-card", cards["denoise"], src, "-o", tmp_path / "out", *extra], env)
        assert r.exit_code == 2 and "Traceback" not in r.output, (extra, r.output)
    for extra in (["--sigma", "0"], ["--sigma", "1000"]):
        assert run(["denoise", src, *extra], env).exit_code == 2
    assert run(["jpeg", src, "--quality", "500"], env).exit_code == 2
    assert not (tmp_path / "out").exists()


def test_what_the_command_line_names_but_does_not_exist_is_a_usage_error(photo, tmp_path, cards, env):
    src = photo(tmp_path / "a.png")
    r = run(["sr", "--scale", "5", src], env)
    assert r.exit_code == 2 and "scale 5" in r.output
    r = run(["sr", "-m", "no-such-model", src], env)
    assert r.exit_code == 2 and "no-such-model" in r.output
    (tmp_path / "notes.txt").write_text("mine")
    r = run(["sr", "--model-card", cards["sr"], src, "-o", tmp_path / "notes.txt"], env)
    assert r.exit_code == 2 and "not an image" in r.output and (tmp_path / "notes.txt").read_text() == "mine"


def test_missing_inputs_alone_fail_without_loading_a_model(tmp_path, cards, env):
    r = run(["sr", "--model-card", cards["sr"], tmp_path / "nope.png"], env)
    assert r.exit_code == 1 and "nope.png: no such file" in r.output and "model " not in r.output


def test_weights_that_are_no_checkpoint_are_one_line(photo, tmp_path, env):
    src = photo(tmp_path / "a.png")
    (tmp_path / "bad.pth").write_text("not a checkpoint")
    r = run(["sr", "--weights", tmp_path / "bad.pth", src, "-o", tmp_path / "out"], env)
    assert r.exit_code == 1 and "not a PyTorch checkpoint" in r.output and "Traceback" not in r.output


def test_an_existing_output_of_another_size_is_not_taken_for_done(photo, tmp_path, cards, env):
    """Two commands sharing an output folder: the sr run does not skip the denoised a.png as if it had
    upscaled it; it names the file and fails it, and --overwrite replaces it."""
    photo(tmp_path / "in" / "a.png", size=(24, 20))
    denoised = run(["denoise", "--model-card", cards["denoise"], tmp_path / "in", tmp_path / "out", "-q"], env)
    assert denoised.exit_code == 0
    r = run(["sr", "--model-card", cards["sr"], tmp_path / "in", tmp_path / "out", "-q"], env)
    assert r.exit_code == 1 and "exists but is 24x20, not the 48x40" in r.output, r.output
    r = run(["sr", "--model-card", cards["sr"], tmp_path / "in", tmp_path / "out", "-q", "--overwrite"], env)
    assert r.exit_code == 0 and Image.open(tmp_path / "out" / "a.png").size == (48, 40)
    r = run(["sr", "--model-card", cards["sr"], tmp_path / "in", tmp_path / "out"], env)  # now done: skipped
    assert r.exit_code == 0 and "1 skipped" in r.output

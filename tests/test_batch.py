"""Batch planning: inputs vs output, naming, sharding, never writing over an input."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_cli.batch import Shard, find_ground_truth, plan_jobs, split_positionals
from restore_cli.errors import UsageError


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_existing_last_file_is_an_input_not_an_output(tmp_path):
    a, b = touch(tmp_path / "a.jpg"), touch(tmp_path / "b.jpg")
    inputs, output = split_positionals([str(a), str(b)], None)
    assert inputs == [str(a), str(b)] and output is None


def test_new_last_path_is_the_output(tmp_path):
    a = touch(tmp_path / "a.png")
    inputs, output = split_positionals([str(a), str(tmp_path / "out.png")], None)
    assert inputs == [str(a)] and output == str(tmp_path / "out.png")
    inputs, output = split_positionals([str(tmp_path), str(tmp_path / "out")], None)
    assert output == str(tmp_path / "out")


def test_explicit_output_keeps_all_positionals_as_inputs(tmp_path):
    a = touch(tmp_path / "a.png")
    inputs, output = split_positionals([str(a), str(tmp_path / "new.png")], "dest")
    assert len(inputs) == 2 and output == "dest"


def test_beside_input_uses_task_suffix(tmp_path):
    a = touch(tmp_path / "photo.jpg")
    (job,) = plan_jobs([str(a)], None, suffix=None, default_suffix="_x4")
    assert job.target == tmp_path / "photo_x4.jpg"


def test_output_folder_keeps_stem_and_subfolders(tmp_path):
    touch(tmp_path / "in" / "a.png")
    touch(tmp_path / "in" / "sub" / "b.jpg")
    touch(tmp_path / "in" / "notes.txt")
    flat = plan_jobs([str(tmp_path / "in")], str(tmp_path / "out"), suffix=None, default_suffix="_x4")
    assert [j.target for j in flat] == [tmp_path / "out" / "a.png"]
    deep = plan_jobs([str(tmp_path / "in")], str(tmp_path / "out"), suffix="_s", default_suffix="_x4",
                     ext="webp", recursive=True)
    assert sorted(j.target for j in deep) == [tmp_path / "out" / "a_s.webp", tmp_path / "out" / "sub" / "b_s.webp"]


def test_glob_inputs_and_file_output(tmp_path):
    for n in ("1", "2", "3"):
        touch(tmp_path / f"{n}.jpg")
    jobs = plan_jobs([str(tmp_path / "*.jpg")], str(tmp_path / "o"), suffix=None, default_suffix="_x")
    assert len(jobs) == 3
    with pytest.raises(UsageError, match="file name"):
        plan_jobs([str(tmp_path / "*.jpg")], str(tmp_path / "o.png"), suffix=None, default_suffix="_x")
    (one,) = plan_jobs([str(tmp_path / "1.jpg")], str(tmp_path / "o.png"), suffix=None, default_suffix="_x")
    assert one.target == tmp_path / "o.png"


def test_a_recursive_glob_keeps_sub_folders_in_the_output_folder(tmp_path):
    touch(tmp_path / "src" / "a.png")
    touch(tmp_path / "src" / "sub" / "deeper" / "a.png")
    jobs = plan_jobs([str(tmp_path / "src" / "**" / "*.png")], str(tmp_path / "o"), suffix=None,
                     default_suffix="_x", recursive=True)
    assert sorted(j.target.relative_to(tmp_path / "o").as_posix() for j in jobs) == ["a.png", "sub/deeper/a.png"]


def test_a_file_output_for_a_folder_input_says_so(tmp_path):
    (tmp_path / "x.png").mkdir()
    touch(tmp_path / "x.png" / "a.png")
    with pytest.raises(UsageError, match=r"the input .*x\.png is a folder"):
        plan_jobs([str(tmp_path / "x.png")], str(tmp_path / "n.png"), suffix=None, default_suffix="_x")


def test_a_file_named_like_a_glob_is_itself_and_an_unmatched_glob_is_kept_for_its_error(tmp_path):
    odd = touch(tmp_path / "scan [2].png")
    touch(tmp_path / "scan 2.png")  # what "scan [2].png" matches when read as a pattern
    (job,) = plan_jobs([str(odd)], str(tmp_path / "o"), suffix=None, default_suffix="")
    assert job.source == odd
    (missing,) = plan_jobs([str(tmp_path / "nomatch*.png")], str(tmp_path / "o"), suffix=None, default_suffix="")
    assert missing.source == tmp_path / "nomatch*.png" and not missing.source.exists()


def test_duplicates_are_processed_once(tmp_path):
    a = touch(tmp_path / "a.png")
    assert len(plan_jobs([str(a), str(a), str(tmp_path)], str(tmp_path / "o"), suffix=None, default_suffix="")) == 1


def test_bad_ext_and_no_input():
    with pytest.raises(UsageError):
        plan_jobs([], None, suffix=None, default_suffix="")
    with pytest.raises(UsageError, match="--ext"):
        plan_jobs(["a.png"], None, suffix=None, default_suffix="", ext="gif")


def test_shards_partition_the_inputs(tmp_path):
    for i in range(40):
        touch(tmp_path / f"{i:03d}.png")
    everything = {j.source for j in plan_jobs([str(tmp_path)], "o", suffix=None, default_suffix="")}
    parts = [
        {j.source for j in plan_jobs([str(tmp_path)], "o", suffix=None, default_suffix="", shard=Shard(k, 3))}
        for k in (1, 2, 3)
    ]
    assert set().union(*parts) == everything
    assert sum(len(p) for p in parts) == len(everything)
    assert all(parts)  # 40 files over 3 shards: none is empty
    # deterministic: the same call gives the same part
    again = {j.source for j in plan_jobs([str(tmp_path)], "o", suffix=None, default_suffix="", shard=Shard(2, 3))}
    assert again == parts[1]


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/b", "3", "1/0"])
def test_bad_shard(text):
    with pytest.raises(UsageError):
        Shard.parse(text)


def test_ground_truth_matching(tmp_path):
    touch(tmp_path / "gt" / "a.png")
    touch(tmp_path / "in" / "a.jpg")
    (job,) = plan_jobs([str(tmp_path / "in")], "o", suffix=None, default_suffix="")
    assert find_ground_truth(tmp_path / "gt", job, single=True) == tmp_path / "gt" / "a.png"
    assert find_ground_truth(tmp_path / "gt" / "a.png", job, single=True) == tmp_path / "gt" / "a.png"
    touch(tmp_path / "in" / "zzz.jpg")
    jobs = plan_jobs([str(tmp_path / "in")], "o", suffix=None, default_suffix="")
    assert find_ground_truth(tmp_path / "gt", jobs[1], single=False) is None


def test_a_new_output_named_like_a_file_with_an_unknown_extension_is_refused_for_one_input(tmp_path):
    """`restore sr photo.png out.jgp` (a typo) would otherwise put the result in a new folder `out.jgp/`."""
    a = touch(tmp_path / "a.png")
    with pytest.raises(UsageError, match=r"'\.jgp' is not an image extension.*end it with '/'"):
        plan_jobs([str(a)], str(tmp_path / "out.jgp"), suffix=None, default_suffix="_x4")
    # a trailing slash, an existing folder, or several inputs make it a folder
    jobs = plan_jobs([str(a)], str(tmp_path / "out.jgp") + "/", suffix=None, default_suffix="_x4")
    assert jobs[0].target == tmp_path / "out.jgp" / "a.png"
    (tmp_path / "old.v2").mkdir()
    assert plan_jobs([str(a)], str(tmp_path / "old.v2"), suffix=None, default_suffix="")[0].target == (
        tmp_path / "old.v2" / "a.png")
    b = touch(tmp_path / "b.png")
    jobs = plan_jobs([str(a), str(b)], str(tmp_path / "results.old"), suffix=None, default_suffix="")
    assert [j.target for j in jobs] == [tmp_path / "results.old" / "a.png", tmp_path / "results.old" / "b.png"]
    # a name without an extension-like suffix is a new folder, as before
    assert plan_jobs([str(a)], str(tmp_path / "out"), suffix=None, default_suffix="")[0].target == (
        tmp_path / "out" / "a.png")

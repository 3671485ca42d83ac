"""The GPU model benchmark's cases, checked on the CPU: a typo in one would surface only on the device."""

from restore_cli.bench import DEFAULT_CASES
from restore_cli.cards import find_card


def test_every_case_names_a_catalog_architecture_and_tiles_sensibly():
    for case in DEFAULT_CASES:
        card = find_card(case.card_id)
        assert card.arch_class, case
        assert case.tile == 0 or case.tile >= 64, case
        assert case.tile_batch >= 1, case
    # the memory-target case must bound memory by one tile, not by four (which outweigh the whole image)
    bounded = [c for c in DEFAULT_CASES if "one at a time" in c.label]
    assert bounded and all(c.tile and c.tile_batch == 1 for c in bounded)


def test_the_table_says_device_date_and_versions_and_formats_each_row():
    import datetime

    import torch

    from restore_cli.bench import Row, format_table

    rows = [Row("MambaIR light SR x4, 720p out", "reference", 51.44, 17.9, 1.234),
            Row("MambaIR light SR x4, 720p out", "bf16", 26.4, 34.9, 0.5, speedup=1.948, max_abs=8.4e-3, rel_l2=2.5e-3)]
    text = format_table(rows, "NVIDIA H100 80GB HBM3", day=datetime.date(2026, 11, 23))
    head, _, *table = text.splitlines()
    assert head.startswith("Device: NVIDIA H100 80GB HBM3; 2026-11-23; torch " + torch.__version__)
    assert table[2] == "| MambaIR light SR x4, 720p out | reference | 51.4 | 17.90 | 1.23 | 1.00x | 0.0e+00 | 0.0e+00 |"
    assert table[3].endswith("| bf16 | 26.4 | 34.90 | 0.50 | 1.95x | 8.4e-03 | 2.5e-03 |")


def test_isolated_cases_come_back_from_their_processes_or_are_reported(monkeypatch):
    """Each case runs in a child process (``python -m restore_cli.bench``) that prints its rows as JSON;
    one that fails (an unknown card; on the CPU, no CUDA device first) is logged and left out, and the
    others still come back."""
    import subprocess

    from restore_cli import bench
    from restore_cli.bench import BenchCase, Row, rows_from_json, rows_to_json, run_benchmark_isolated

    rows = [Row("case", "bf16", 1.5, 2.0, 0.25, speedup=3.0, max_abs=1e-3, rel_l2=2e-4)]
    assert rows_from_json(rows_to_json(rows)) == rows
    good, bad = BenchCase("good", "mambair-light-x4", 16, 16), BenchCase("bad", "no-such-card", 16, 16)
    run = subprocess.run

    def fake_run(command, **kwargs):  # the good case's child, faked; the bad one's runs for real
        if '"good"' in command[command.index("--case") + 1]:
            return subprocess.CompletedProcess(command, 0, stdout="progress\n" + rows_to_json(rows) + "\n")
        return run(command, **kwargs)

    monkeypatch.setattr(bench.subprocess, "run", fake_run)
    logged = []
    got = run_benchmark_isolated([bad, good], repeats=1, paths=("bf16",), log=logged.append)
    assert got == rows
    assert len(logged) == 1 and logged[0].startswith("bad: the benchmark process failed (exit 1)")

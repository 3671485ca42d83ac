"""`restore --help` answers quickly: it must not import torch."""

from __future__ import annotations

import subprocess
import sys


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from restore_cli.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "for cmd in ('sr', 'denoise', 'jpeg', 'derain', 'deblur'):\n"
        "    assert cmd in r.output\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_task_command_has_help_with_examples():
    from typer.testing import CliRunner

    from restore_cli.cli.app import app

    for cmd in ("sr", "denoise", "jpeg", "derain", "deblur"):
        r = CliRunner().invoke(app, [cmd, "--help"])
        assert r.exit_code == 0
        assert f"restore {cmd}" in r.output


def test_no_option_offers_a_doubled_negative():
    """A flag named ``--no-x`` must not grow a ``--no-no-x`` twin (Typer adds one unless told not to)."""
    from typer.testing import CliRunner

    from restore_cli.cli.app import app

    for cmd in (["sr"], ["denoise"], ["train"], ["models", "download"], ["bench"]):
        r = CliRunner().invoke(app, [*cmd, "--help"], env={"COLUMNS": "200"})
        assert r.exit_code == 0 and "--no-no-" not in r.output, cmd


def test_help_reads_in_an_80_column_terminal():
    """Plain help: option text wraps at the terminal's width beside its option, command summaries are whole
    (not cut with "..."), and example command lines appear as written, never broken at a hyphen."""
    from typer.testing import CliRunner

    from restore_cli.cli.app import app
    from restore_cli.cli.restore_cmd import TASKS

    runner = CliRunner()
    for group in ([], ["models"]):
        out = runner.invoke(app, [*group, "--help"], env={"COLUMNS": "80"}).output
        assert "..." not in out.split("Commands:")[1], out
    for task, (_, _, examples) in TASKS.items():
        out = runner.invoke(app, [task, "--help"], env={"COLUMNS": "80"}).output
        for example in examples:
            assert f"    {example}\n" in out, (task, example)
        lines = [line for line in out.splitlines() if not line.startswith("    restore")]
        assert max(map(len, lines)) <= 80, task
        # the option column stays narrow: an option and the start of its text share a line
        device = next(line for line in lines if line.startswith("  --device <str>"))
        assert len(device.split("<str>")[1].strip()) > 30, device

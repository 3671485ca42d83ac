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

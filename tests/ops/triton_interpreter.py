"""Run a script under Triton's interpreter (``TRITON_INTERPRET=1``) on the CPU, for the kernels' tests."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: Triton 3.6's interpreter turns a runtime loop bound (a kernel argument or program id, a one-element
#: array) into a Python int with int(), which NumPy >= 2.3 refuses. The compiled kernels are unaffected
#: (the GPU tests cover them), so a test that meets this skips instead of failing.
NUMPY_LOOP_BOUND_ERROR = "only 0-dimensional arrays can be converted"


def run_in_triton_interpreter(script: str) -> str:
    """Run ``script`` in a fresh interpreter process with CUDA hidden; return its stdout, fail on its error."""
    env = {**os.environ, "TRITON_INTERPRET": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    if NUMPY_LOOP_BOUND_ERROR in done.stderr:
        pytest.skip("this Triton's interpreter cannot run loops with a runtime bound under this NumPy (>= 2.3)")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout

"""launch/quickstart.sh ends by saying how to put the venv's commands on PATH (issue 16),
on stderr after the job's own output, and keeps the job's exit status."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path):
    """A copy of quickstart.sh next to a stub setup script, and a venv with a stub job."""
    launch = tmp_path / "repo" / "launch"
    launch.mkdir(parents=True)
    shutil.copy(REPO / "launch" / "quickstart.sh", launch / "quickstart.sh")
    (launch / "setup_engine.sh").write_text("echo setup \"$@\" >&2\n")
    venv = tmp_path / "my venv"
    (venv / "bin").mkdir(parents=True)
    job = venv / "bin" / "spyre-launch"
    job.write_text("#!/bin/sh\necho \"Output: 'hi' $*\"\necho 'generate_s=0.1'\n"
                   "exit ${JOB_STATUS:-0}\n")
    job.chmod(0o755)
    return launch / "quickstart.sh", venv


@pytest.mark.parametrize("status", [0, 3])
def test_last_line_says_how_to_activate(checkout, status):
    script, venv = checkout
    proc = subprocess.run(["bash", str(script), "max_tokens=4"], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "JOB_STATUS": str(status),
                                           "SPYRE_HYDRA_VENV": str(venv)})
    assert proc.returncode == status
    assert proc.stdout == "Output: 'hi' max_tokens=4\ngenerate_s=0.1\n"  # the job's, untouched
    last = proc.stderr.splitlines()[-1]
    assert last == (f"Next: source {str(venv).replace(' ', chr(92) + ' ')}/bin/activate"
                    "   # puts spyre-launch and spyre-hydra on PATH")

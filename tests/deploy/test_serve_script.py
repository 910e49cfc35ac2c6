"""A bundle's serve.sh run with an interpreter that cannot serve says which one it tried
and that PYTHON= picks another (issue 16), instead of Python's raw ModuleNotFoundError."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from spyre_hydra.deploy.bundle import serve_script


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "serve.sh").write_text(serve_script())
    (tmp_path / "env.sh").write_text("")
    (tmp_path / "serve.yaml").write_text("port: 8000\n")
    return tmp_path


def run(bundle, python: str):
    return subprocess.run(["sh", str(bundle / "serve.sh")], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHON": python})


def test_an_interpreter_without_vllm_is_named(bundle, tmp_path):
    # this interpreter without its site-packages: a real Python that lacks vLLM
    stub = tmp_path / "bare-python"
    stub.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    stub.chmod(0o755)
    proc = run(bundle, str(stub))
    assert proc.returncode == 2
    assert proc.stderr == (f"serve.sh: error: {stub} has no vLLM (import vllm fails). Fix: "
                           f"PYTHON=/path/to/python sh {bundle / 'serve.sh'} with an "
                           "interpreter that has it, e.g. PYTHON=.venv-engine/bin/python.\n")
    assert "ModuleNotFoundError" not in proc.stderr and proc.stdout == ""


def test_a_missing_interpreter_is_named(bundle):
    proc = run(bundle, "no-such-python3.99")
    assert proc.returncode == 2
    assert proc.stderr.startswith("serve.sh: error: PYTHON=no-such-python3.99: no such "
                                  "interpreter. Fix: PYTHON=/path/to/python sh ")


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")
def test_an_interpreter_with_vllm_gets_past_the_check(bundle, tmp_path):
    # a stand-in whose `-m` run only reports what it was asked to start
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\ncase \"$1\" in -c) exit 0;; -m) echo \"ran $2\"; exit 0;; "
                    "esac\nexit 1\n")
    fake.chmod(0o755)
    proc = run(bundle, str(fake))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ran vllm.entrypoints.openai.api_server\n"

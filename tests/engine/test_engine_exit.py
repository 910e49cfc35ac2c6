"""The first run of the main job ends with its completions and timings: nothing alarming
on stderr at exit (issue 16: triton's nanobind bindings used to report dozens of
"nanobind: leaked ... types!" lines when the heap was frozen at exit)."""

from __future__ import annotations

import importlib.util
import re

import pytest

pytestmark = [pytest.mark.engine, pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                 reason="needs vllm (the engine venv)")]


def test_main_job_exits_without_leak_reports(launch):
    proc = launch("max_tokens=4")
    assert proc.returncode == 0, proc.stderr[-5000:]
    last = proc.stdout.splitlines()[-1]
    assert re.search(r"generate_s=[\d.]+ tokens_per_s=[\d.]+$", last), last
    assert [line for line in proc.stderr.splitlines() if "nanobind" in line
            or "leaked" in line] == []

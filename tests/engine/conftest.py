"""Helpers for engine tests: run engine_probe.py in a fresh interpreter (see its docstring
for why) and share one tiny-model cache per test session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("engine_probe.py")
# shared/ sits beside the checkout (also in CI's fresh clone); /work/shared as fallback.
_REFERENCE_DIRS = [
    Path(p)
    for p in (
        os.environ.get("SPYRE_HYDRA_REFERENCE"),
        REPO.parent / "shared" / "reference",
        "/work/shared/reference",
    )
    if p
]
_GRANITE_8B_REL = Path("hf_configs/ibm-granite/granite-3.3-8b-instruct")


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # A plain interpreter must find the checkout even when the project isn't installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    env.update(extra)
    return env


def run_probe(spec: dict, *, timeout: float = 300, **extra_env: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(spec)],
        cwd=REPO,
        env=subprocess_env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT="):
            return json.loads(line[len("RESULT="):])
    raise AssertionError(
        f"probe failed rc={proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-6000:]}"
    )


@pytest.fixture(scope="session")
def probe():
    """The run_probe function, as a fixture so test modules need not import conftest."""
    return run_probe


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    """One cache dir per session, honoured by subprocesses via SPYRE_HYDRA_CACHE."""
    return tmp_path_factory.mktemp("spyre_hydra_cache")


@pytest.fixture(scope="session")
def tiny_granite(tiny_cache) -> Path:
    pytest.importorskip("transformers")
    from spyre_hydra.engine.tiny_model import ensure_tiny_model

    return ensure_tiny_model("granite", cache_dir=tiny_cache)


@pytest.fixture(scope="session")
def granite_8b_config_dir() -> Path:
    for ref in _REFERENCE_DIRS:
        if (ref / _GRANITE_8B_REL / "config.json").is_file():
            return ref / _GRANITE_8B_REL
    pytest.skip(f"granite-3.3-8b-instruct config.json not found under {_REFERENCE_DIRS}")

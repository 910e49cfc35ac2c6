"""Helpers for engine tests: run engine_probe.py in a fresh interpreter (see its docstring
for why) and share one tiny-model cache per test session."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("engine_probe.py")
# Checked-in copy of /work/shared/reference/hf_configs/ibm-granite/granite-3.3-8b-instruct.
GRANITE_8B_CONFIG = (REPO / "tests" / "data" / "hf_configs" / "ibm-granite"
                     / "granite-3.3-8b-instruct" / "config.json")


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
def probe_env():
    """subprocess_env: this env plus the checkout on PYTHONPATH and quiet vLLM logging."""
    return subprocess_env


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
    """The tiny Granite in the session cache, built in a child process: importing torch here
    would change this process's os.environ (TORCHINDUCTOR_CACHE_DIR, ...)."""
    if importlib.util.find_spec("transformers") is None:
        pytest.skip("needs transformers (the engine venv)")
    proc = subprocess.run([sys.executable, "-m", "spyre_hydra.engine.tiny_model", "granite"],
                          env=subprocess_env(SPYRE_HYDRA_CACHE=str(tiny_cache)),
                          capture_output=True, text=True, check=True)
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def granite_8b_config_dir(tmp_path_factory) -> Path:
    """A config-only granite-3.3-8b-instruct checkpoint (config.json alone) in a tmp dir."""
    path = tmp_path_factory.mktemp("granite-3.3-8b-instruct")
    shutil.copy(GRANITE_8B_CONFIG, path / "config.json")
    return path


def _launcher(cwd: Path, cache: Path, launch_cmd):
    def run(*args: str, prog: str = "spyre-launch", timeout: float = 300,
            **extra_env: str) -> subprocess.CompletedProcess:
        cwd.mkdir(exist_ok=True)
        env = subprocess_env(SPYRE_HYDRA_CACHE=str(cache), **extra_env)
        for key in ("MASTER_PORT", "SENDNN_INFERENCE_MODEL_CONFIG_FILE"):  # per launch
            env.pop(key, None)
        return subprocess.run([*launch_cmd(prog), *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def launch(tmp_path, tiny_cache, h):
    """Run `spyre-launch ARGS` (or another console script) in a fresh process, in an empty
    working dir, with the session's tiny-model cache; returns the CompletedProcess."""
    return _launcher(tmp_path / "cwd", tiny_cache, h.launch_cmd)


@pytest.fixture(scope="module")
def module_launch(tmp_path_factory, tiny_cache, h):
    """`launch` for module-scoped fixtures (one run shared by several tests)."""
    return _launcher(tmp_path_factory.mktemp("cwd"), tiny_cache, h.launch_cmd)

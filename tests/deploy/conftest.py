"""Start a vLLM OpenAI server in a child process, wait for it, talk to it with the `openai`
client, and always stop it (the whole process group: vLLM starts an engine-core child)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 240


def server_env(tmp: Path, cache: Path, **extra: str) -> dict[str, str]:
    """This env without spyre_hydra / plugin settings a caller may have, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SPYRE_HYDRA_", "SENDNN_INFERENCE_", "MASTER_", "VLLM_DT_",
                                "FLEX_"))}
    env.update({"SPYRE_HYDRA_CACHE": str(cache), "VLLM_LOGGING_LEVEL": "INFO",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                            env.get("PYTHONPATH")]))})
    env.update(extra)
    return env


@contextlib.contextmanager
def running(cmd: list[str], port: int, env: dict, log: Path, cwd: Path):
    """The server's base URL while it runs; stopped (SIGTERM, then SIGKILL) on exit."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        yield base
    finally:
        _stop(proc)


def _wait_healthy(base: str, proc, log: Path) -> None:
    end = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"server exited rc={proc.returncode}\n{log.read_text()[-6000:]}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"server not healthy after {START_TIMEOUT_S}s\n"
                         f"{log.read_text()[-6000:]}")


def _stop(proc) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


def exercise(base: str, model: str) -> dict:
    """models, completions, chat, streaming and /metrics through the openai client."""
    from openai import OpenAI

    client = OpenAI(base_url=base + "/v1", api_key="unused", timeout=60, max_retries=0)
    models = [m.id for m in client.models.list().data]
    completion = client.completions.create(model=model, prompt="Hello, my name is",
                                           max_tokens=4, temperature=0)
    chat = client.chat.completions.create(model=model, max_tokens=4, temperature=0,
                                          messages=[{"role": "user", "content": "Hello"}])
    pieces = [chunk.choices[0].text for chunk in client.completions.create(
        model=model, prompt="The capital of France is", max_tokens=4, temperature=0,
        stream=True) if chunk.choices]
    with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
        metrics = r.read().decode()
    return {"models": models, "completion": completion, "chat": chat, "stream": pieces,
            "vllm_series": [line for line in metrics.splitlines() if line.startswith("vllm:")]}


def python() -> str:
    """This interpreter: the worktree's venv, which sees the checkout (console scripts
    shared with another venv would not)."""
    return sys.executable


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    """One spyre_hydra cache (tiny checkpoint, exported catalogs) for this folder's servers."""
    return tmp_path_factory.mktemp("deploy_cache")


@pytest.fixture(scope="session")
def srv():
    """The server helpers of this folder (conftest modules are not importable by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(running=running, exercise=exercise, python=python,
                           server_env=server_env)

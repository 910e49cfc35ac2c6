"""Shared fixtures: every test runs with its own cache dir, fresh registries and a clean
Hydra, and fails when it leaves os.environ different from how it found it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
DATA = Path(__file__).resolve().parent / "data"
HF_CONFIGS = DATA / "hf_configs"
#: Env vars the catalog's device settings set; subprocess plans must not inherit them.
MODEL_ENV_KEYS = ("VLLM_DT_MAX_BATCH_TKV_LIMIT", "FLEX_HDMA_P2PSIZE", "FLEX_HDMA_COLLSIZE",
                  "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG", "SPYRE_HYDRA_NO_CACHE")


def _environ() -> dict[str, str]:
    # pytest itself rewrites PYTEST_CURRENT_TEST for every phase of a test.
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


@pytest.fixture(autouse=True)
def env_unchanged():
    """Fail the test when it leaves os.environ changed (the brief: env left as found)."""
    before = _environ()
    yield
    after = _environ()
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        for key in changed:  # restore, so one leak does not fail every later test
            if key in before:
                os.environ[key] = before[key]
            else:
                del os.environ[key]
        pytest.fail(f"test changed os.environ: {changed}", pytrace=False)


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spyre_hydra_cache")


@pytest.fixture(autouse=True)
def spyre_cache(env_unchanged, monkeypatch, _session_cache) -> Path:
    """SPYRE_HYDRA_CACHE in a tmp dir, so no test reads or writes the user's cache."""
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(_session_cache))
    monkeypatch.delenv("SPYRE_HYDRA_NO_CACHE", raising=False)
    return _session_cache


@pytest.fixture
def fresh_cache(spyre_cache, monkeypatch, tmp_path) -> Path:
    """An empty cache dir of this test's own (for cache hit / invalidation tests)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(path))
    return path


@pytest.fixture(autouse=True)
def clean_registries():
    """Forget loaded registries and Hydra's global state before and after each test."""
    from hydra.core.global_hydra import GlobalHydra

    from spyre_hydra.catalog.registry import reset_registries

    reset_registries()
    GlobalHydra.instance().clear()
    yield
    reset_registries()
    GlobalHydra.instance().clear()


@pytest.fixture
def unset_env(monkeypatch):
    """Make env vars absent for the test; monkeypatch restores them (and removes ones the
    code under test adds) afterwards."""

    def unset(*keys: str) -> None:
        for key in keys:
            monkeypatch.setenv(key, "placeholder")  # records the original state for undo
            monkeypatch.delenv(key)

    return unset


@pytest.fixture
def conf_copy(tmp_path) -> Path:
    """A writable copy of the shipped conf tree."""
    dest = tmp_path / "conf"
    shutil.copytree(CONF, dest)
    return dest


@pytest.fixture(scope="session")
def h():
    """Helper functions for test modules (a fixture because tests/engine has a conftest too,
    so `import conftest` would be ambiguous)."""
    return SimpleNamespace(hf_config=hf_config, all_hf_configs=all_hf_configs,
                           fake_vllm_config=fake_vllm_config, run_cli=run_cli,
                           launch_cmd=launch_cmd, clean_env=clean_env, conf=CONF, repo=REPO,
                           hf_configs=HF_CONFIGS)


def hf_config(rel: str) -> dict:
    """A checked-in HF config.json (tests/data/hf_configs/<org>/<model>)."""
    return json.loads((HF_CONFIGS / rel / "config.json").read_text())


def all_hf_configs() -> dict[str, dict]:
    """HF id -> parsed config.json for every checked-in config."""
    return {str(p.parent.relative_to(HF_CONFIGS)): json.loads(p.read_text())
            for p in sorted(HF_CONFIGS.rglob("config.json"))}


def fake_vllm_config(hf=None, tp=1, max_model_len=None, max_num_seqs=None, blocks=None,
                     batched_tokens=None):
    """An object shaped like vLLM's VllmConfig, as far as the registry and configurator look."""
    return SimpleNamespace(
        model_config=SimpleNamespace(hf_config=hf, max_model_len=max_model_len),
        parallel_config=SimpleNamespace(world_size=tp),
        scheduler_config=SimpleNamespace(max_num_seqs=max_num_seqs,
                                         max_num_batched_tokens=batched_tokens),
        cache_config=SimpleNamespace(num_gpu_blocks_override=blocks))


def launch_cmd(prog: str = "spyre-launch") -> list[str]:
    """The console script next to this interpreter, else `python -m` of its module."""
    script = Path(sys.executable).parent / prog
    if script.is_file():
        return [str(script)]
    module = {"spyre-launch": "spyre_hydra.cli.launch", "spyre-hydra": "spyre_hydra.cli.main"}[prog]
    return [sys.executable, "-m", module]


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without the catalog's env vars (so plans are deterministic), plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in MODEL_ENV_KEYS}
    env.update(extra)
    return env


def run_cli(args, cwd, prog: str = "spyre-launch", **extra_env) -> subprocess.CompletedProcess:
    """Run a console script in `cwd` and capture its output."""
    return subprocess.run([*launch_cmd(prog), *args], cwd=cwd, env=clean_env(**extra_env),
                          capture_output=True, text=True, timeout=120)

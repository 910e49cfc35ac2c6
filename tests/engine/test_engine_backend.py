"""Backend detection from metadata only, and the env each backend gets."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys

import pytest

from spyre_hydra.engine import backend


def _fake_installed(monkeypatch, names):
    def distribution(name):
        if name in names:
            return object()
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(backend.md, "distribution", distribution)


@pytest.mark.parametrize(
    "installed,expected",
    [
        ({"torch_sendnn", "sendnn-inference"}, "sendnn"),
        ({"sendnn-inference"}, "eager"),
        (set(), "cpu"),
    ],
)
def test_detect_backend(monkeypatch, installed, expected):
    _fake_installed(monkeypatch, installed)
    assert backend.detect_backend() == expected


def test_detect_backend_imports_nothing_heavy():
    code = (
        "import sys; from spyre_hydra.engine.backend import detect_backend;"
        "print(detect_backend());"
        "bad=[m for m in ('torch','torch_sendnn','vllm','sendnn_inference') if m in sys.modules];"
        "assert not bad, bad"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() in backend.BACKENDS


def test_backend_env_cpu():
    env = backend.backend_env("cpu")
    assert env["VLLM_PLUGINS"] == "none"
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert "SENDNN_INFERENCE_DYNAMO_BACKEND" not in env


def test_backend_env_eager_and_sendnn():
    eager = backend.backend_env("eager", port=29511)
    assert eager["SENDNN_INFERENCE_DYNAMO_BACKEND"] == "eager"
    assert eager["MASTER_ADDR"] == "127.0.0.1" and eager["MASTER_PORT"] == "29511"
    assert "VLLM_PLUGINS" not in eager
    card = backend.backend_env("sendnn")
    assert card["SENDNN_INFERENCE_DYNAMO_BACKEND"] == "sendnn"
    assert card["FLEX_COMPUTE"] == "SENTIENT"
    assert 0 < int(card["MASTER_PORT"]) < 65536
    assert all(isinstance(v, str) for v in {**eager, **card}.values())


def test_backend_env_unknown():
    with pytest.raises(ValueError):
        backend.backend_env("cuda")

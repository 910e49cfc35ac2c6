"""Backend detection from metadata only, and the env each backend gets."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys

import pytest

from spyre_hydra.conftree import backends
from spyre_hydra.engine import launchenv as backend
from spyre_hydra.plan import backend_argv


def _fake_installed(monkeypatch, names):
    def distribution(name):
        if name in names:
            return object()
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(md, "distribution", distribution)


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
    assert backends.detect_backend() == expected


@pytest.mark.parametrize("installed", [{"vllm-spyre"}, {"sendnn-inference"}])
def test_detect_backend_knows_every_name_of_the_spyre_plugin(monkeypatch, installed):
    """One list of the plugin's names (conftree/stamp.py), the older vllm-spyre included."""
    _fake_installed(monkeypatch, installed | {"vllm"})
    assert backends.detect_backend() == "eager"


def test_detect_backend_imports_nothing_heavy():
    code = (
        "import sys; from spyre_hydra.conftree.backends import detect_backend;"
        "print(detect_backend());"
        "bad=[m for m in ('torch','torch_sendnn','vllm','sendnn_inference') if m in sys.modules];"
        "assert not bad, bad"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() in [b.name for b in backends.backends()]


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
    from spyre_hydra.errors import UnknownOptionError

    with pytest.raises(UnknownOptionError, match=r"backend 'cuda' is not a backend here\. "
                       r"Valid \(the files in conf/backend/ of .*\): cpu, eager, sendnn\. Fix: "):
        backend.backend_env("cuda")


def test_backend_env_reads_the_conf_file(tmp_path):
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "eager.yaml").write_text(
        "name: eager\nenv: {SENDNN_INFERENCE_DYNAMO_BACKEND: eager, MY_FLAG: '7'}\n")
    env = backend.backend_env("eager", port=29512, conf_dir=tmp_path)
    assert env == {"SENDNN_INFERENCE_DYNAMO_BACKEND": "eager", "MY_FLAG": "7",
                   "MASTER_PORT": "29512"}
    assert dict(backends.backend_spec("cpu").engine_args) == {"enforce_eager": True}


def _resolve(argv, monkeypatch, detected="eager"):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from spyre_hydra.conftree.hydra_adapter import parse_launch_args
    from spyre_hydra.conftree.tree import ConfTree

    monkeypatch.setattr(backend_argv, "detect_backend", lambda *tree: detected)
    args = parse_launch_args(argv)
    parsed = OverridesParser.create().parse_overrides(args.overrides)
    return backend_argv.resolve_auto_backend(argv, parsed, args.overrides, ConfTree.at(None))


@pytest.mark.parametrize("argv,expected", [
    ([], ["backend=eager"]),
    (["--info"], ["backend=eager", "--info"]),  # never after an option taking a value
    (["model=granite_8b", "--cfg", "job"], ["model=granite_8b", "backend=eager", "--cfg", "job"]),
    (["-m", "device=tp1,tp4"], ["-m", "device=tp1,tp4", "backend=eager"]),
    (["backend=auto", "mode=plan"], ["backend=eager", "mode=plan"]),
    (["-m", "backend=auto,cpu"], ["-m", "backend=eager,cpu"]),
    (["backend=cpu"], ["backend=cpu"]),
    # the sweep file names the backend in its params: argv would silently override it
    (["-m", "+sweep=tiny_static"], ["-m", "+sweep=tiny_static"]),
])
def test_resolve_auto_backend(monkeypatch, argv, expected):
    assert _resolve(argv, monkeypatch) == expected


def test_launch_plan_shows_the_detected_backend(h, tmp_path):
    import json

    proc = h.run_cli(["model=granite_8b", "device=tp4", "mode=plan"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["backend"] == backends.detect_backend()
    static = backends.backend_spec(plan["backend"]).env
    # the backend's static env sits in plan["backend_env"] (older plans: in plan["env"])
    promised = {**plan.get("backend_env", {}), **plan["env"]}
    assert static and {k: str(v) for k, v in static.items()}.items() <= promised.items()
    assert "MASTER_PORT" not in promised  # picked per launch, not part of the plan

"""Plan-time commands never import torch, vllm, transformers or torch_sendnn.

Each command runs in a fresh interpreter through a wrapper that puts a recording finder first
on sys.meta_path: every attempt to import a heavy package is logged, even one that fails
(these packages are absent from the core venv, so a guarded `try: import torch` would
otherwise pass unnoticed). The wrapper also lists the heavy modules in sys.modules at exit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("torch", "vllm", "transformers", "torch_sendnn")

WRAPPER = textwrap.dedent("""
    import importlib.abc, json, os, sys
    HEAVY = set(os.environ["HEAVY"].split(","))
    attempts = []

    class Recorder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HEAVY:
                attempts.append(name)
            return None

    sys.meta_path.insert(0, Recorder())

    def report(code):
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
        with open(os.environ["REPORT"], "w") as fh:
            json.dump({"attempts": attempts, "loaded": loaded, "code": code}, fh)

    what, argv = sys.argv[1], sys.argv[2:]
    code = 0
    try:
        if what == "selftest":
            try:
                import vllm.engine.arg_utils  # noqa: F401 - must be recorded
            except ImportError:
                pass
        elif what == "launch":
            from spyre_hydra.cli.launch import main
            main(argv)
        else:
            from spyre_hydra.cli.main import main
            code = main(argv)
    except SystemExit as exc:
        code = exc.code
    report(code)
""")


def _run(h, tmp_path, what, *argv):
    script = tmp_path / "wrapper.py"
    script.write_text(WRAPPER)
    report = tmp_path / "report.json"
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, str(script), what, *argv], cwd=cwd,
                          env=h.clean_env(HEAVY=",".join(HEAVY), REPORT=str(report)),
                          capture_output=True, text=True, timeout=120)
    assert report.is_file(), proc.stderr
    return json.loads(report.read_text()), proc


def test_the_recorder_catches_an_import(h, tmp_path):
    result, _ = _run(h, tmp_path, "selftest")
    assert "vllm" in result["attempts"]


@pytest.mark.parametrize("what,argv,ok", [
    ("launch", ["model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "mode=plan"], True),
    ("launch", ["model=granite_8b", "device=tp4", "runtime=static", "mode=plan"], True),
    ("launch", ["model=granite_8b", "--cfg", "job"], True),
    ("launch", ["model=nope", "mode=plan"], False),
    ("launch", ["model=granite_8b", "runtime.max_num_seqs=abc", "mode=plan"], False),
    ("cli", ["list"], True),
    ("cli", ["list", "--format", "json"], True),
    ("cli", ["explain", "model=granite_8b", "device=tp4", "sendnn_version=1.0.2"], True),
    ("cli", ["check", "--hf-configs", "{hf_configs}"], True),
    ("cli", ["schema"], True),
    ("cli", ["import-legacy", "{legacy}", "--out", "{tmp}/imported"], True),
], ids=["plan", "plan-static", "cfg-job", "bad-option", "bad-value", "list", "list-json",
        "explain", "check", "schema", "import-legacy"])
def test_command_imports_nothing_heavy(h, tmp_path, what, argv, ok):
    paths = {"hf_configs": h.hf_configs, "tmp": tmp_path,
             "legacy": h.hf_configs.parent / "legacy" / "vllm_spyre_1_10_0.yaml"}
    argv = [a.format(**paths) for a in argv]
    result, proc = _run(h, tmp_path, what, *argv)
    assert result["attempts"] == [], proc.stderr
    assert result["loaded"] == []
    if not ok:
        assert result["code"] not in (0, None)
    else:
        assert result["code"] in (0, None), proc.stderr
        assert proc.stdout.strip()


def test_model_auto_imports_nothing_heavy(h, tmp_path):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    shutil.copy(h.hf_configs / "ibm-granite/granite-3.3-8b-instruct/config.json", ckpt)
    result, proc = _run(h, tmp_path, "launch", "model=auto", f"model_path={ckpt}", "mode=plan")
    assert result["code"] in (0, None), proc.stderr
    assert json.loads(proc.stdout)["option"] == "granite_8b"
    assert result["attempts"] == [] and result["loaded"] == []

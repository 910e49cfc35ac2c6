"""Review 3 (hostile): holes found in today's conf-tree, code-argument and output changes.

Each test states what should happen and fails on main at 20f4ffe: a user conf file smuggles
vLLM's code-running flags into `vllm serve` through a list value, conf files may set env
names that are the same doors as the refused ones (XDG_CACHE_HOME is VLLM_CACHE_ROOT's
default, CXX/CC the compiler inductor and triton run, HOME the user site-packages whose .pth
files run at start), and a closed stdout loses the plan with exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_helpers import conf_dir

import spyre_hydra
from spyre_hydra.conftree import trust
from spyre_hydra.errors import ConfigValidationError

ALLOW = "SPYRE_HYDRA_ALLOW_CUSTOM_CODE"
REPO = Path(__file__).resolve().parents[2]
BACKEND = """\
name: mine
description: the eager Spyre path
spyre_plugin: true
detect: {installed: [spyre_plugin], rank: 0}
env: {SENDNN_INFERENCE_DYNAMO_BACKEND: eager, MASTER_ADDR: 127.0.0.1}
"""


@pytest.fixture(autouse=True)
def no_opt_ins(monkeypatch):
    for key in (ALLOW, "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    trust._memo.clear()


@pytest.mark.parametrize("smuggled", ["--trust-remote-code", "--worker-cls=evil.Worker",
                                      "--trust_remote_code"])
def test_a_list_value_cannot_smuggle_a_code_flag_into_vllm_serve(smuggled, tmp_path):
    """engine/run.py serve_argv spreads a list as separate argv words, so vLLM's serve
    parser reads a word starting with `--` as its own option: served_model_name: [x,
    --trust-remote-code] sets trust_remote_code=True (checked by hand against vLLM 0.28's
    parser). The code-argument scan only looks at keys, and the plan accepts a list of
    strings, so a user conf file turns on remote code with no opt-in. It should be refused
    like engine_args.trust_remote_code: true (or the value passed so it stays a value)."""
    from spyre_hydra.engine.run import serve_argv

    conf = conf_dir(tmp_path, {"backend/mine.yaml": BACKEND + "engine_args:\n"
                               f"  served_model_name: [mine, '{smuggled}']\n"})
    args = ["model=tiny_granite", "backend=mine", "mode=serve"]
    try:
        plan = spyre_hydra.compose(args, conf_dir=conf)
    except ConfigValidationError:
        return  # refused: what should happen
    argv = serve_argv(dict(plan.engine_args()), set())
    pytest.fail(f"a conf file's list value became the vLLM flag {smuggled!r}: {argv}")


@pytest.mark.parametrize("name", ["XDG_CACHE_HOME", "CXX", "CC", "HOME", "PATH"])
@pytest.mark.parametrize("where", ["backend", "model"])
def test_a_conf_file_cannot_set_an_env_name_that_loads_code(name, where, tmp_path):
    """confine._CODE_ENV refuses VLLM_CACHE_ROOT and inductor_compile_config (cpp.cxx), yet
    XDG_CACHE_HOME moves VLLM_CACHE_ROOT's default (vllm/envs.py get_default_cache_root),
    CXX is inductor's cpp.cxx default and CC triton's compiler, and HOME moves the user
    site-packages dir whose .pth lines Python runs at start (and ~/.cache). A conf file
    setting them passes the scan and reaches the engine's env (engine/launchenv.py)."""
    if where == "backend":
        files = {"backend/mine.yaml": BACKEND.replace(
            "MASTER_ADDR: 127.0.0.1", f"MASTER_ADDR: 127.0.0.1, {name}: /tmp/evil")}
    else:
        files = {"model/mine.yaml": "defaults:\n  - tiny_granite@_here_\n  - _self_\n"
                 "device_configs:\n  tp1:\n    env_vars: {" + name + ": /tmp/evil}\n"}
    conf = conf_dir(tmp_path, files)
    with pytest.raises(ConfigValidationError, match=rf"env(_vars)?\.'{name}'.*names a "
                       "variable that makes a process load code"):
        trust.check_user_root(conf)


def test_a_closed_stdout_is_an_error_not_a_lost_plan(tmp_path):
    """spyre-launch mode=plan with stdout closed (`>&-`): Python starts with sys.stdout None,
    checked_stdout() skips its wrapper (io/output.py _wrapped_stdout) and print() drops the
    plan; the command exits 0 having said nothing. /dev/full is named with exit 2; a closed
    stdout should be named alike (non-zero, 'standard output' on stderr)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        ["bash", "-c", f'exec "{sys.executable}" -m spyre_hydra.cli.launch '
         'model=tiny_granite mode=plan >&-'],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode != 0 and "standard output" in proc.stderr, (
        proc.returncode, proc.stderr[-500:])


def test_plain_list_values_and_negative_numbers_still_pass():
    from spyre_hydra.plan.engine_fields import flag_like

    assert flag_like(["mine", "also-mine"]) is None and flag_like("-3") is None
    assert flag_like(["-1", "-0.5", "-"]) is None
    assert flag_like([" --worker-cls=x"]) == " --worker-cls=x"
    plan = spyre_hydra.compose(["model=tiny_granite", "mode=plan",
                                "+engine_args.served_model_name=[mine,also-mine]"])
    assert plan.engine_args()["served_model_name"] == ["mine", "also-mine"]


def test_a_flag_in_a_list_is_refused_from_the_command_line_too(capsys):
    from spyre_hydra.cli.launch import main

    with pytest.raises(SystemExit) as info:
        main(["model=tiny_granite", "mode=plan",
              "+engine_args.served_model_name=[mine,--trust-remote-code]"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "'--trust-remote-code' would reach `vllm serve` as an option of its own" in err
    assert "Fix: set that option under its own name (engine_args.trust_remote_code=...)" in err

"""The mode and backend tables are open: a backend is one YAML file (here in a user conf
dir), a mode is one registered spec (here from this test module); both plan and sweep."""

from __future__ import annotations

import json

import pytest

import spyre_hydra
from spyre_hydra.conftree.modes import ModeSpec, mode_names, register_mode, unregister_mode
from spyre_hydra.errors import UnknownOptionError

MINE = """\
name: mine
description: an accelerator of our own (test)
spyre_plugin: false
detect: {installed: [hydra-core], rank: 9}   # installed wherever this test runs
env:
  VLLM_PLUGINS: none
  MY_ACCEL: "on"
engine_args:
  enforce_eager: true
"""


@pytest.fixture
def mine_dir(tmp_path):
    conf = tmp_path / "conf"
    (conf / "backend").mkdir(parents=True)
    (conf / "backend" / "mine.yaml").write_text(MINE)
    return conf


def test_a_backend_added_by_one_yaml_file_plans(mine_dir):
    plan = spyre_hydra.compose(["backend=mine", "mode=plan"], conf_dir=mine_dir, environ={})
    assert plan.backend == "mine"
    assert plan.backend_env == {"VLLM_PLUGINS": "none", "MY_ACCEL": "on"}
    assert plan.args["enforce_eager"] is True
    from spyre_hydra.engine.launchenv import launch_env, plan_backend

    assert plan_backend(plan).description == "an accelerator of our own (test)"
    env = launch_env(plan, "config", {})
    assert env["MY_ACCEL"] == "on"  # the plan's conf roots find the user's backend file
    assert "MASTER_PORT" not in env and "SENDNN_INFERENCE_MODEL_CONFIG_FILE" not in env


def test_a_backend_file_with_a_detection_rule_is_what_auto_picks(mine_dir):
    plan = spyre_hydra.compose(["backend=auto", "mode=plan"], conf_dir=mine_dir, environ={})
    assert plan.backend == "mine"  # rank 9 beats the shipped sendnn (2), eager (1), cpu (0)
    assert spyre_hydra.compose(["mode=plan"], environ={}).backend != "mine"


def test_an_unknown_backend_names_the_files_found(mine_dir):
    with pytest.raises(UnknownOptionError, match=r"mine"):
        spyre_hydra.compose(["backend=theirs"], conf_dir=mine_dir, environ={})


def test_a_backend_added_by_one_yaml_file_sweeps(h, tmp_path, mine_dir):
    proc = h.run_cli(["-m", "--config-dir", str(mine_dir), "backend=mine,cpu", "mode=plan"],
                     tmp_path)
    assert proc.returncode == 0, proc.stderr
    plans = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [p["backend"] for p in plans] == ["mine", "cpu"]
    assert plans[0]["backend_env"]["MY_ACCEL"] == "on"


def echo(plan, environ):
    """A mode's runner: what it was given."""
    return {"mode": plan.mode, "tp": plan.tp_size, "prompts": list(plan.inputs.prompts)}


@pytest.fixture
def echo_mode():
    register_mode(ModeSpec("echo", "answer with the plan (test)", prompts=True,
                           in_process=True, runner=f"{__name__}:echo"))
    yield
    unregister_mode("echo")


def test_a_registered_mode_plans_and_runs(echo_mode):
    assert "echo" in mode_names()
    plan = spyre_hydra.compose(["mode=echo", "prompts=[hi]"], environ={})
    assert plan.mode == "echo" and plan.inputs.prompts == ("hi",)  # the spec reads prompts
    from spyre_hydra.conftree.modes import mode_spec

    assert mode_spec("echo").run(plan) == {"mode": "echo", "tp": 1, "prompts": ["hi"]}


def test_an_unregistered_mode_is_refused_with_the_table():
    with pytest.raises(spyre_hydra.ConfigValidationError,
                       match=r"'echo' is not a mode\. Valid: plan, config, generate, serve, bench"):
        spyre_hydra.compose(["mode=echo"], environ={})


def test_a_registered_mode_sweeps(echo_mode, tmp_path, capsys):
    from spyre_hydra.cli.launch import main

    sweep_dir = tmp_path / "sweep"
    main(["-m", "mode=echo", "device=tp1,tp2", f"hydra.sweep.dir={sweep_dir}"])
    assert "2 ok, 0 failed" in capsys.readouterr().err
    records = [json.loads((sweep_dir / str(i) / "result.json").read_text()) for i in (0, 1)]
    assert [r["outcome"] for r in records] == ["ok", "ok"]
    assert [r["engine"]["tp"] for r in records] == [1, 2]
    # the plan crosses the JSON edge whole: result.json holds a plan that rebuilds itself
    plan = spyre_hydra.LaunchPlan.from_dict(records[1]["plan"])
    assert plan.to_dict() == records[1]["plan"] and plan.mode == "echo"


def test_help_lists_the_mode_and_backend_tables(h, tmp_path, echo_mode):
    proc = h.run_cli(["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for mode in ("plan", "config", "generate", "serve", "bench"):
        assert f"\n  {mode} " in proc.stdout
    assert "  eager   Spyre plugin on CPU" in proc.stdout  # eager.yaml's description
    from spyre_hydra.conftree.modes import mode_help

    assert "echo      answer with the plan (test)" in mode_help()  # the same table


def test_help_lists_a_user_conf_dirs_backend(h, tmp_path):
    # README "Adding a backend": a user file's description is shown by --help
    (tmp_path / "myconf" / "backend").mkdir(parents=True)
    (tmp_path / "myconf" / "backend" / "mine.yaml").write_text(
        "name: mine\ndescription: what it runs on\nspyre_plugin: false\n")
    proc = h.run_cli(["--config-dir", "myconf", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "\n    mine    what it runs on\n" in proc.stdout
    assert "  eager   Spyre plugin on CPU" in proc.stdout  # the shipped ones stay
    shipped = h.run_cli(["--help"], tmp_path)
    assert shipped.returncode == 0 and "mine" not in shipped.stdout


def test_help_lists_the_devices_and_versions_of_a_user_conf_dir(h, tmp_path):
    # README "Adding a device": the group options come from the conf tree, not fixed text
    (tmp_path / "myconf" / "device").mkdir(parents=True)
    (tmp_path / "myconf" / "device" / "tp8.yaml").write_text("name: tp8\ntp_size: 8\n")
    (tmp_path / "myconf" / "sendnn_version").mkdir()
    (tmp_path / "myconf" / "sendnn_version" / "1.0.10.yaml").write_text('version: "1.0.10"\n')
    proc = h.run_cli(["--config-dir", "myconf", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "\n  device: tp1, tp2, tp4, tp8\n" in proc.stdout
    assert "\n  sendnn_version: auto, 1.0.2, 1.0.3, 1.0.10, none (any version: " in proc.stdout
    assert "\n  runtime: cb, static\n" in proc.stdout
    shipped = h.run_cli(["--help"], tmp_path)
    assert shipped.returncode == 0 and "\n  device: tp1, tp2, tp4\n" in shipped.stdout
    assert "tp8" not in shipped.stdout and "1.0.10" not in shipped.stdout


def test_help_lists_a_backend_of_the_config_dir(h, tmp_path, mine_dir):
    proc = h.run_cli(["--config-dir", str(mine_dir), "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "    mine    an accelerator of our own (test)\n" in proc.stdout
    assert "mine" not in h.run_cli(["--help"], tmp_path).stdout  # shipped tree only


@pytest.fixture
def echo_out_of_process():
    """A mode whose sweep jobs run in a fresh interpreter (in_process=False), as a user's."""
    register_mode(ModeSpec("echo2", "answer with the plan, in a worker (test)", prompts=True,
                           runner=f"{__name__}:echo"))
    yield
    unregister_mode("echo2")


@pytest.mark.slow
def test_a_registered_mode_sweeps_in_a_fresh_worker(echo_out_of_process, tmp_path, capsys):
    from spyre_hydra.cli.launch import main

    sweep_dir = tmp_path / "sweep"
    main(["-m", "mode=echo2", "device=tp1,tp2", f"hydra.sweep.dir={sweep_dir}"])
    assert "2 ok, 0 failed" in capsys.readouterr().err
    records = [json.loads((sweep_dir / str(i) / "result.json").read_text()) for i in (0, 1)]
    assert [r["engine"] for r in records] == [
        {"mode": "echo2", "tp": tp, "prompts": ["Hello, my name is", "The capital of France is"]}
        for tp in (1, 2)]


def test_every_shipped_runner_resolves_to_a_function():
    from spyre_hydra.conftree.modes import MODES, _load

    for spec in MODES.values():
        for target in (spec.runner, spec.sweep_runner):
            if target:
                assert callable(_load(target, spec.name)), target

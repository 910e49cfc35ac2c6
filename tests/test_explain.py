"""`spyre-hydra explain`: every plan value with its origin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from spyre_hydra.cli.explain import explain, format_text
from spyre_hydra.cli.main import main

BASE = ["model=granite_8b", "device=tp4"]


def _row(result, key):
    (row,) = [r for r in result["rows"] if r["key"] == key]
    return row


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("FLEX_HDMA_P2PSIZE", "FLEX_HDMA_COLLSIZE", "VLLM_DT_MAX_BATCH_TKV_LIMIT",
                 "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_blocks_name_resolver_version_specifier_and_family_file():
    row = _row(explain([*BASE, "sendnn_version=1.0.2"]), "engine_args.num_gpu_blocks_override")
    assert row["value"] == 2080
    assert "${spyre.blocks}" in row["origin"] and "torch_sendnn 1.0.2" in row["origin"]
    assert "'<1.0.3' matched" in row["origin"]
    assert "conf/model/family/granite_33_8b.yaml (family base of model=granite_8b)" in row["origin"]


def test_blocks_default_branch_for_a_newer_version():
    row = _row(explain([*BASE, "sendnn_version=1.0.3"]), "engine_args.num_gpu_blocks_override")
    assert row["value"] == 8192
    assert "no specifier matched, so 'default'" in row["origin"]


def test_model_file_versus_family_base():
    result = explain([*BASE, "sendnn_version=1.0.3"])
    assert _row(result, "model")["origin"] == "conf/model/granite_8b.yaml (model file)"
    env = _row(result, "env.FLEX_HDMA_P2PSIZE")
    assert env["value"] == "268435456"
    assert env["origin"] == "conf/model/family/spyre_tp4.yaml (family base of model=granite_8b)"
    cb = _row(result, "engine_args.max_model_len")
    assert "${spyre.cb_default}" in cb["origin"] and "granite_8b_dense.yaml" in cb["origin"]


def test_group_choice_default_and_command_line():
    result = explain([*BASE, "sendnn_version=1.0.3"])
    assert _row(result, "tp_size")["origin"] == (
        "conf/device/tp4.yaml (device=tp4: command line 'device=tp4')")
    assert _row(result, "runtime")["origin"] == (
        "conf/runtime/cb.yaml (runtime=cb: default in conf/config.yaml)")
    assert _row(result, "mode")["origin"] == "default in conf/config.yaml"


def test_backend_auto_is_reported_as_the_pre_flight_choice():
    row = _row(explain(BASE), "backend")
    assert re.match(r"conf/backend/\w+\.yaml \(backend=\w+: pre-flight 'backend=\w+' "
                    r"\(backend=auto, detected from installed packages\)\)", row["origin"])
    assert "command line" not in row["origin"]


def test_model_auto_is_reported_as_the_pre_flight_match(tmp_path, h):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps(
        h.hf_config("ibm-granite/granite-3.3-8b-instruct")))
    result = explain(["model=auto", f"model_path={ckpt}", "device=tp4"])
    assert _row(result, "option") == {
        "key": "option", "value": "granite_8b",
        "origin": "pre-flight 'model=granite_8b' (model=auto, matched against model_path's "
                  "config.json)"}
    assert _row(result, "engine_args.model")["origin"] == (
        f"pre-flight 'model.path={ckpt.resolve()}' (model=auto: the checkpoint directory)")


def test_auto_version_names_the_metadata_resolver():
    row = _row(explain(BASE), "sendnn_version")
    assert row["origin"].startswith("resolver ${spyre.sendnn_version:} (package metadata)")


def test_pre_existing_env_var_wins_and_is_reported(monkeypatch):
    monkeypatch.setenv("FLEX_HDMA_P2PSIZE", "1")
    before = dict(os.environ)
    row = _row(explain([*BASE, "sendnn_version=1.0.3"]), "env.FLEX_HDMA_P2PSIZE")
    assert row["value"] == "1"
    assert row["origin"].startswith("kept your env value 1 over model default 268435456")
    assert dict(os.environ) == before


def test_same_pre_existing_env_value_is_reported(monkeypatch):
    monkeypatch.setenv("FLEX_HDMA_COLLSIZE", "33554432")
    row = _row(explain([*BASE, "sendnn_version=1.0.3"]), "env.FLEX_HDMA_COLLSIZE")
    assert row["origin"].startswith("pre-existing environment, same as the model default")


def test_user_engine_arg_wins_over_model_default():
    result = explain([*BASE, "sendnn_version=1.0.3", "+engine_args.num_gpu_blocks_override=100"])
    row = _row(result, "engine_args.num_gpu_blocks_override")
    assert row["value"] == 100
    assert row["origin"].startswith("command line '+engine_args.num_gpu_blocks_override=100': "
                                    "kept your value 100 over the model default 8192")


def test_extra_engine_arg_and_model_key_override():
    result = explain([*BASE, "sendnn_version=1.0.3", "+engine_args.enforce_eager=true",
                      "model.device_configs.tp4.env_vars.FLEX_HDMA_COLLSIZE=5"])
    assert _row(result, "engine_args.enforce_eager")["origin"] == (
        "command line '+engine_args.enforce_eager=true'")
    env = _row(result, "env.FLEX_HDMA_COLLSIZE")
    assert env["value"] == "5"
    assert env["origin"] == "command line 'model.device_configs.tp4.env_vars.FLEX_HDMA_COLLSIZE=5'"


def test_static_shapes_come_from_the_static_default_resolver():
    result = explain([*BASE, "runtime=static"])
    row = _row(result, "warmup_shapes")
    assert row["value"] == [[6144, 2048, 1]]
    assert "${spyre.static_default}" in row["origin"]
    assert "conf/model/granite_8b.yaml (model file)" in row["origin"]
    assert _row(result, "engine_args.num_gpu_blocks_override")["origin"].startswith(
        "not set: static batching")


def test_unsupported_runtime_says_device_settings_do_not_apply():
    result = explain([*BASE, "runtime.max_num_seqs=3"])
    assert _row(result, "supported")["value"] is False
    assert _row(result, "engine_args.max_num_seqs")["origin"] == (
        "command line 'runtime.max_num_seqs=3'")
    assert "not a catalog entry" in _row(result, "engine_args.num_gpu_blocks_override")["origin"]
    assert not [r for r in result["rows"] if r["key"].startswith("env.")
                and "conf/model" in r["origin"]]
    assert result["warnings"]


def test_every_plan_value_has_one_row_with_the_plan_value():
    result = explain([*BASE, "sendnn_version=1.0.2", "backend=eager"])
    plan, rows = result["plan"], {r["key"]: r for r in result["rows"]}
    keys = [f"engine_args.{k}" for k in plan["engine_args"]] + [f"env.{k}" for k in plan["env"]]
    keys += [f"backend_env.{k}" for k in plan["backend_env"]]
    keys += ["model", "option", "tp_size", "sendnn_version", "runtime", "mode", "backend",
             "warmup_shapes", "supported", "profile", "layout"]
    assert sorted(keys) == sorted(rows)
    for key in keys:
        group, _, name = key.partition(".")
        expected = plan[group][name] if name else plan[group]
        assert rows[key]["value"] == expected, key
        assert rows[key]["origin"], key
    assert rows["backend_env.SENDNN_INFERENCE_DYNAMO_BACKEND"]["origin"].startswith(
        "conf/backend/eager.yaml")


def test_text_format_is_key_value_origin():
    text = format_text(explain([*BASE, "sendnn_version=1.0.2"]))
    line = next(x for x in text.splitlines() if x.startswith("engine_args.num_gpu_blocks_override"))
    assert "= 2080" in line and "  <- resolver ${spyre.blocks}" in line


def test_cli_json(capsys):
    assert main(["explain", *BASE, "sendnn_version=1.0.2", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"key": "tp_size", "value": 4,
            "origin": "conf/device/tp4.yaml (device=tp4: command line 'device=tp4')"} in data["rows"]


@pytest.mark.parametrize("args, needle", [
    (["model=granit_8b"], "Did you mean 'granite_8b'?"),
    (["model=granite_8b", "nokey=1"], "unknown key 'nokey'"),
    (["model=granite_8b", "device=tp4", "strict=true", "runtime.max_num_seqs=3"],
     "does not support tp4"),
])
def test_cli_errors_are_one_message(capsys, args, needle):
    assert main(["explain", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_explain_imports_neither_torch_nor_vllm():
    code = ("import sys; from spyre_hydra.cli.main import main; main(['explain','model=granite_8b',"
            "'device=tp4']); print([m for m in ('torch','vllm') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]")

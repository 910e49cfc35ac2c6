"""`spyre-launch ... mode=plan` end to end, in a subprocess, in an empty working directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

CONF = Path(__file__).resolve().parents[1] / "conf"

PLAN_KEYS = {"model", "option", "tp_size", "sendnn_version", "engine_args", "env",
             "warmup_shapes", "supported", "summary"}
# vLLM EngineArgs fields (vllm/engine/arg_utils.py); the plan must use these exact names.
ENGINE_ARGS_FIELDS = {"model", "tensor_parallel_size", "max_model_len", "max_num_seqs",
                      "num_gpu_blocks_override", "max_num_batched_tokens",
                      "enable_chunked_prefill", "dtype", "seed", "enforce_eager"}
TP4_ENV = {"VLLM_DT_MAX_BATCH_TKV_LIMIT": "131072", "FLEX_HDMA_P2PSIZE": "268435456",
           "FLEX_HDMA_COLLSIZE": "33554432"}


def model_env(out: dict) -> dict:
    """The plan's env without what its backend adds (backend=auto becomes the backend
    detected on this machine, whose env is not the model's)."""
    own = yaml.safe_load((CONF / "backend" / f"{out['backend']}.yaml").read_text())
    backend = {k: str(v) for k, v in (own.get("env") or {}).items()}
    assert out["backend_env"] == backend  # the backend's env is reported on its own
    assert not backend.keys() & out["env"].keys()
    return out["env"]


@pytest.fixture
def cwd(tmp_path):
    path = tmp_path / "cwd"
    path.mkdir()
    return path


def plan(h, cwd, *overrides, **env):
    proc = h.run_cli([*overrides, "mode=plan"], cwd, **env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # the whole of stdout is one JSON document...
    assert isinstance(out, dict)  # ...and it is an object
    assert list(cwd.iterdir()) == []  # a single launch writes nothing
    return out, proc


def test_granite_tp4_sendnn_102(h, cwd):
    out, _ = plan(h, cwd, "model=granite_8b", "device=tp4", "sendnn_version=1.0.2")
    assert PLAN_KEYS <= set(out)
    assert set(out["engine_args"]) <= ENGINE_ARGS_FIELDS
    assert out["model"] == "ibm-granite/granite-3.3-8b-instruct"
    assert (out["option"], out["tp_size"], out["sendnn_version"]) == ("granite_8b", 4, "1.0.2")
    assert out["engine_args"]["num_gpu_blocks_override"] == 2080
    assert out["engine_args"]["tensor_parallel_size"] == 4
    assert (out["engine_args"]["max_model_len"], out["engine_args"]["max_num_seqs"]) == (
        32768, 32)
    assert model_env(out) == TP4_ENV
    assert out["supported"] is True and out["warmup_shapes"] == []
    assert "num_gpu_blocks_override=2080" in out["summary"]


def test_granite_tp4_sendnn_103(h, cwd):
    out, _ = plan(h, cwd, "model=granite_8b", "device=tp4", "sendnn_version=1.0.3")
    assert out["engine_args"]["num_gpu_blocks_override"] == 8192
    assert model_env(out) == TP4_ENV


def test_granite_tp1(h, cwd):
    out, _ = plan(h, cwd, "model=granite_8b", "device=tp1", "sendnn_version=1.0.2")
    assert model_env(out) == {}
    assert out["engine_args"]["num_gpu_blocks_override"] is None
    assert out["tp_size"] == 1 and out["supported"] is True


def test_existing_env_is_reported_not_replaced(h, cwd):
    out, _ = plan(h, cwd, "model=granite_8b", "device=tp4", "sendnn_version=1.0.3",
                  FLEX_HDMA_P2PSIZE="1")
    assert out["env"]["FLEX_HDMA_P2PSIZE"] == "1"
    assert "FLEX_HDMA_P2PSIZE=1 ⚠" in out["summary"]


def test_static_plan(h, cwd):
    out, _ = plan(h, cwd, "model=granite_8b", "device=tp4", "runtime=static")
    assert out["warmup_shapes"] == [[6144, 2048, 1]]
    assert model_env(out) == {} and out["engine_args"]["num_gpu_blocks_override"] is None


def test_cfg_job(h, cwd):
    proc = h.run_cli(["model=granite_8b", "device=tp4", "--cfg", "job"], cwd)
    assert proc.returncode == 0, proc.stderr
    tree = yaml.safe_load(proc.stdout)
    assert tree["model"]["hf_id"] == "ibm-granite/granite-3.3-8b-instruct"
    assert tree["device"] == {"name": "tp4", "tp_size": 4}
    assert "hydra" not in tree
    assert list(cwd.iterdir()) == []


def test_info(h, cwd):
    proc = h.run_cli(["--info"], cwd)
    assert proc.returncode == 0, proc.stderr
    assert "Hydra" in proc.stdout and "Config search path" in proc.stdout
    assert list(cwd.iterdir()) == []


def _plans(text: str) -> list[dict]:
    """The plan objects printed on stdout, skipping any other line (a sweep may print a
    summary table too)."""
    decoder, pos, out = json.JSONDecoder(), 0, []
    while (start := text.find("{", pos)) != -1:
        if start and text[start - 1] != "\n":  # only objects that start a line
            pos = start + 1
            continue
        obj, pos = decoder.raw_decode(text, start)
        if isinstance(obj, dict) and "tp_size" in obj:
            out.append(obj)
    return out


def test_multirun_two_devices(h, cwd):
    proc = h.run_cli(["-m", "mode=plan", "device=tp1,tp4", "model=granite_8b",
                      "sendnn_version=1.0.2"], cwd)
    assert proc.returncode == 0, proc.stderr
    plans = _plans(proc.stdout)
    assert [p["tp_size"] for p in plans] == [1, 4]
    assert [p["engine_args"]["num_gpu_blocks_override"] for p in plans] == [None, 2080]
    assert model_env(plans[0]) == {} and model_env(plans[1]) == TP4_ENV  # no state leaks between jobs


@pytest.mark.parametrize("override,expected", [
    ("model=nope", ["Valid options:", "granite_8b", "tiny_granite", "Fix:"]),
    ("device=tp3", ["Valid options: tp1, tp2, tp4", "Did you mean 'tp4'?", "Fix: device=tp4"]),
    ("runtime.max_num_seqs=abc", ["runtime.max_num_seqs", "'abc'", "Fix:"]),
    ("sendnn_version=1.0.x", ["Valid options:", "1.0.3", "Fix:"]),
])
def test_bad_override(h, cwd, override, expected):
    proc = h.run_cli([override, "mode=plan"], cwd)
    assert proc.returncode != 0
    assert proc.stdout == ""
    for fragment in expected:
        assert fragment in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(cwd.iterdir()) == []


def test_model_auto_picks_granite(h, cwd, tmp_path):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    shutil.copy(h.hf_configs / "ibm-granite/granite-3.3-8b-instruct/config.json", ckpt)
    out, _ = plan(h, cwd, "model=auto", f"model_path={ckpt}")
    assert out["option"] == "granite_8b"
    assert out["engine_args"]["model"] == str(ckpt.resolve())


def test_model_auto_reports_the_e5_shadow(h, cwd, tmp_path):
    ckpt = tmp_path / "e5"
    ckpt.mkdir()
    shutil.copy(h.hf_configs / "intfloat/multilingual-e5-large/config.json", ckpt)
    out, proc = plan(h, cwd, "model=auto", f"model_path={ckpt}", "runtime=static")
    assert out["option"] == "bge_reranker_large"
    assert "picked bge_reranker_large" in proc.stderr
    assert "e5_large" in proc.stderr


def test_model_auto_without_match(h, cwd, tmp_path):
    ckpt = tmp_path / "swa"
    ckpt.mkdir()
    shutil.copy(h.hf_configs / "ibm-granite/tiny-granite-swa/config.json", ckpt)
    proc = h.run_cli(["model=auto", f"model_path={ckpt}", "mode=plan"], cwd)
    assert proc.returncode != 0
    assert "no catalog pattern matches" in proc.stderr and "Fix:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(cwd.iterdir()) == []


def test_unsupported_runtime_plans_without_device_settings(h, cwd):
    out, proc = plan(h, cwd, "model=granite_8b", "device=tp4", "sendnn_version=1.0.2",
                     "runtime.max_num_seqs=16")
    assert out["supported"] is False
    assert model_env(out) == {} and out["engine_args"]["num_gpu_blocks_override"] is None
    assert out["engine_args"]["max_num_seqs"] == 16
    assert "does not support tp4" in proc.stderr


@pytest.mark.parametrize("args,expected", [
    (["runtime.max_num_seqs=16"], "does not support tp4"),
    (["+engine_args.num_gpu_blocks_override=100"], "num_gpu_blocks_override=100 ⚠"),
], ids=["unsupported", "user-blocks"])
def test_strict_refuses(h, cwd, args, expected):
    proc = h.run_cli(["model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "strict=true",
                      "mode=plan", *args], cwd)
    assert proc.returncode != 0 and proc.stdout == ""
    assert expected in proc.stderr and "Fix:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(cwd.iterdir()) == []


def test_strict_env_var_refuses_a_conflicting_env(h, cwd):
    proc = h.run_cli(["model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "mode=plan"],
                     cwd, FLEX_HDMA_P2PSIZE="1", SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG="1")
    assert proc.returncode != 0
    assert "FLEX_HDMA_P2PSIZE=1 ⚠" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_top_level_key_gets_a_spyre_message(h, cwd):
    proc = h.run_cli(["model=granite_8b", "mdoe=plan"], cwd)
    assert proc.returncode != 0
    assert proc.stderr.startswith("spyre-launch: error:"), proc.stderr
    assert "Did you mean 'mode'?" in proc.stderr and "Fix: mode=plan" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(cwd.iterdir()) == []


def test_engine_args_key_passes_through_without_plus(h, cwd):
    # engine_args is a free mapping of EngineArgs fields: no Hydra '+' needed to add one.
    proc = h.run_cli(["model=granite_8b", "engine_args.enforce_eager=true", "mode=plan"], cwd)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["engine_args"]["enforce_eager"] is True

"""`spyre-launch ... mode=config`: vLLM's real VllmConfig built from the composed tree for a
config-only granite-3.3-8b-instruct checkpoint, and clean errors. One process per case."""

from __future__ import annotations

import importlib.util
import json

import pytest

pytestmark = [pytest.mark.engine,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                 reason="needs vllm (the engine venv)")]
TP4_ENV = {"VLLM_DT_MAX_BATCH_TKV_LIMIT": "131072", "FLEX_HDMA_P2PSIZE": "268435456",
           "FLEX_HDMA_COLLSIZE": "33554432"}


def config(launch, *args: str, **env: str) -> tuple[dict, str]:
    proc = launch(*args, "mode=config", **env)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(proc.stdout), proc.stderr  # stdout is the summary alone


def test_granite_8b_tp4_102(launch, granite_8b_config_dir):
    s, _ = config(launch, "model=granite_8b", "device=tp4", "sendnn_version=1.0.2",
                  f"model.path={granite_8b_config_dir}")
    assert (s["tensor_parallel_size"], s["world_size"]) == (4, 4)
    assert (s["max_model_len"], s["max_num_seqs"]) == (32768, 32)
    assert s["num_gpu_blocks_override"] == 2080
    assert s["platform"] == "SpyrePlatform" and s["block_size"] == 64
    assert s["served_model_name"] == "ibm-granite/granite-3.3-8b-instruct"
    assert {k: s["spyre_env"][k] for k in TP4_ENV} == TP4_ENV
    assert s["max_num_batched_tokens"] == 512  # the plugin's `vllm serve` default


def test_granite_8b_tp4_103_sendnn_reads_the_exported_catalog(launch, granite_8b_config_dir,
                                                              tiny_cache):
    # backend=sendnn on CPU: building the config needs no card, and the plugin's registry runs.
    s, err = config(launch, "model=granite_8b", "device=tp4", "sendnn_version=1.0.3",
                    "backend=sendnn", f"model.path={granite_8b_config_dir}",
                    VLLM_LOGGING_LEVEL="INFO")
    assert s["num_gpu_blocks_override"] == 8192
    assert {k: s["spyre_env"][k] for k in TP4_ENV} == TP4_ENV
    assert f"model configurations from {tiny_cache / 'model_configs'}" in err
    assert "not using model default" not in err  # the plugin agreed with every plan value


def test_granite_8b_tp1(launch, granite_8b_config_dir):
    s, _ = config(launch, "model=granite_8b", "device=tp1", "sendnn_version=1.0.2",
                  f"model.path={granite_8b_config_dir}")
    assert (s["tensor_parallel_size"], s["max_model_len"], s["max_num_seqs"]) == (1, 3072, 16)
    # No catalog blocks at tp1: the plugin sizes the KV cache for a full batch
    # (16 x 3072/64 + 1 padding block, rounded up to a multiple of 16).
    assert s["num_gpu_blocks_override"] == 784
    assert "FLEX_HDMA_P2PSIZE" not in s["spyre_env"]


@pytest.mark.parametrize("override,expected", [
    # refused by the plan (plan/engine_fields.py), before vLLM is imported
    ("+engine_args.max_num_seqz=3", ["'max_num_seqz' is not an argument of vLLM",
                                     "Did you mean: max_num_seqs?",
                                     "Fix: drop it and use runtime.max_num_seqs=3"]),
    # accepted by EngineArgs, refused by the Spyre platform hook
    ("+engine_args.max_num_batched_tokens=1000", ["divisible by the block size (64)"]),
])
def test_bad_engine_args_are_clean_errors(launch, override, expected):
    proc = launch(override, "mode=config")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    for text in expected:
        assert text in proc.stderr

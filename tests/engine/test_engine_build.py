"""VllmConfig built through the Spyre platform hook, for a config-only granite 8b
checkpoint (no weights, no tokenizer). Each case runs in its own interpreter."""

from __future__ import annotations

import pytest

pytest.importorskip("vllm")
pytestmark = [pytest.mark.engine]


def _config_spec(model_dir, backend, tp, max_model_len, max_num_seqs):
    return {
        "backend": backend,
        "action": "config",
        "engine_args": {
            "model": str(model_dir),
            "tensor_parallel_size": tp,
            "max_model_len": max_model_len,
            "max_num_seqs": max_num_seqs,
            "skip_tokenizer_init": True,  # the directory holds config.json only
        },
    }


def test_unknown_engine_arg_names_close_fields(probe, tiny_granite):
    out = probe(
        {
            "backend": "eager",
            "action": "invalid",
            "engine_args": {"model": str(tiny_granite), "max_num_seq": 4},
        }
    )
    assert out["error_type"] == "EngineArgsError"
    assert "'max_num_seq'" in out["message"] and "max_num_seqs" in out["message"]
    assert out["env_restored"] is True


def test_granite_8b_tp1_eager(probe, granite_8b_config_dir):
    s = probe(_config_spec(granite_8b_config_dir, "eager", 1, 3072, 16))["summary"]
    assert s["tensor_parallel_size"] == 1 and s["world_size"] == 1
    assert s["platform"] == "SpyrePlatform"
    assert s["worker_cls"] == "sendnn_inference.v1.worker.spyre_worker.SpyreWorker"
    assert s["block_size"] == 64
    assert s["max_num_batched_tokens"] % 64 == 0
    assert (s["max_model_len"], s["max_num_seqs"]) == (3072, 16)
    # eager skips the model registry; the hook sizes the KV cache for a full batch
    # (16 * 3072/64 + 1 padding block, rounded up to a multiple of 16).
    assert s["num_gpu_blocks_override"] == 784
    assert s["spyre_env"]["VLLM_DT_MAX_BATCH_SIZE"] == "16"
    assert s["dtype"] == "bfloat16"


def test_granite_8b_tp4_eager(probe, granite_8b_config_dir):
    s = probe(_config_spec(granite_8b_config_dir, "eager", 4, 32768, 32))["summary"]
    assert s["tensor_parallel_size"] == 4 and s["world_size"] == 4
    # vLLM picks the multiprocessing executor for world_size > 1; no CPU-count check.
    assert s["distributed_executor_backend"] == "mp"
    assert s["block_size"] == 64
    assert (s["max_model_len"], s["max_num_seqs"]) == (32768, 32)


def test_granite_8b_tp4_sendnn_registry(probe, granite_8b_config_dir):
    # The plugin's model registry only runs for the sendnn backend; building the config
    # (not the engine) works without a card, which is what mode=config needs.
    s = probe(_config_spec(granite_8b_config_dir, "sendnn", 4, 32768, 32))["summary"]
    assert s["tensor_parallel_size"] == 4
    assert s["num_gpu_blocks_override"] == 8192
    assert s["spyre_env"]["VLLM_DT_MAX_BATCH_TKV_LIMIT"] == "131072"
    assert s["spyre_env"]["FLEX_HDMA_P2PSIZE"] == "268435456"
    assert s["spyre_env"]["FLEX_HDMA_COLLSIZE"] == "33554432"

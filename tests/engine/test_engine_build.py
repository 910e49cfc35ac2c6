"""build_vllm_config on its own: a value the Spyre platform hook refuses becomes an
EngineArgsError and os.environ is restored although the hook had already written to it.
(The VllmConfig values themselves are checked end to end in test_engine_launch.py.)"""

from __future__ import annotations

import importlib.util

import pytest

pytestmark = [pytest.mark.engine,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                 reason="needs vllm (the engine venv)")]


def test_hook_rejection_wrapped_and_env_restored(probe, granite_8b_config_dir):
    # SpyrePlatform.check_and_update_config asserts max_num_batched_tokens % 64 == 0
    # (surfacing as pydantic ValidationError) after it already exported VLLM_DT_* vars.
    out = probe({
        "backend": "eager",
        "action": "invalid",
        "engine_args": {"model": str(granite_8b_config_dir), "tensor_parallel_size": 1,
                        "max_model_len": 3072, "max_num_seqs": 16,
                        "max_num_batched_tokens": 1000},
    })
    assert out["error_type"] == "EngineArgsError"
    assert "divisible by the block size (64)" in out["message"]
    assert out["cause_type"] == "ValidationError"
    assert out["env_restored"] is True

"""Tiny granite generates through the Spyre platform (eager) and through plain CPU vLLM,
in-process engine core (VLLM_ENABLE_V1_MULTIPROCESSING=0) inside a fresh interpreter."""

from __future__ import annotations

import pytest

pytest.importorskip("vllm")
pytestmark = [pytest.mark.engine, pytest.mark.slow]

PROMPTS = ["Hello, my name is", "The capital of France is"]


def _generate(probe, model_dir, cache, backend, tp=1, **engine_args):
    spec = {
        "backend": backend,
        "action": "generate",
        "prompts": PROMPTS,
        "max_tokens": 8,
        "engine_args": {
            "model": str(model_dir),
            "tensor_parallel_size": tp,
            "max_model_len": 256,
            "max_num_seqs": 4,
            "max_num_batched_tokens": 128,  # Spyre: a multiple of its block size 64
            **engine_args,
        },
    }
    return probe(spec, VLLM_ENABLE_V1_MULTIPROCESSING="0", SPYRE_HYDRA_CACHE=str(cache))


@pytest.fixture(scope="module")
def eager_run(probe, tiny_granite, tiny_cache):
    return _generate(probe, tiny_granite, tiny_cache, "eager")


def test_eager_spyre_generates(eager_run):
    s = eager_run["summary"]
    assert s["platform"] == "SpyrePlatform" and s["block_size"] == 64
    rows = eager_run["rows"]
    assert [r["prompt"] for r in rows] == PROMPTS
    assert all(r["num_tokens"] == 8 and r["finish_reason"] == "length" for r in rows)
    assert rows[0]["engine_start_s"] < 60 and rows[0]["tokens_per_s"] > 0


def test_cpu_vllm_matches_eager_spyre(probe, tiny_granite, tiny_cache, eager_run):
    # enforce_eager skips vLLM-CPU's ~15 s torch.compile warm-up.
    cpu = _generate(probe, tiny_granite, tiny_cache, "cpu", enforce_eager=True)
    assert cpu["summary"]["platform"] == "CpuPlatform"
    assert all(r["num_tokens"] == 8 for r in cpu["rows"])
    # Same fp16 weights, greedy: both paths pick the same tokens (measured identical).
    assert [r["token_ids"] for r in cpu["rows"]] == [r["token_ids"] for r in eager_run["rows"]]


def test_eager_spyre_tp2(probe, tiny_granite, tiny_cache, eager_run):
    tp2 = _generate(probe, tiny_granite, tiny_cache, "eager", tp=2)
    assert tp2["summary"]["tensor_parallel_size"] == 2
    assert [r["token_ids"] for r in tp2["rows"]] == [r["token_ids"] for r in eager_run["rows"]]

"""runtime=static on sendnn-inference 2.6.3: decoders run as the CB layout covering the
shapes (max_model_len rounded up to the 64-token block), pooling models get warm-up env."""

from __future__ import annotations

import pytest

from spyre_hydra.conftree.compose import compose_launch
from spyre_hydra.plan.build import build_plan


def plan_for(*overrides: str) -> dict:
    cfg = compose_launch(list(overrides))
    return build_plan(cfg, cfg.hydra.runtime.choices.model, list(overrides), environ={}).to_dict()


@pytest.mark.parametrize("shapes,max_model_len,max_num_seqs", [
    ("[[64,8,1]]", 128, 1),     # 72 tokens -> two whole blocks
    ("[[64,8,2]]", 128, 2),
    ("[[128,8,2]]", 192, 2),
    ("[[128,16,4]]", 192, 4),
    ("[[64,8,1],[128,16,4]]", 192, 4),
])
def test_tiny_static_shapes_become_block_aligned_cb_layouts(shapes, max_model_len, max_num_seqs):
    plan = plan_for("runtime=static", f"runtime.warmup_shapes={shapes}", "backend=eager")
    ea = plan["engine_args"]
    assert (ea["max_model_len"], ea["max_num_seqs"]) == (max_model_len, max_num_seqs)
    assert plan["supported"] is True
    # vLLM's default max_num_batched_tokens is max_model_len x max_num_seqs here; the plugin
    # refuses one that is not a multiple of its block size.
    assert ea["max_model_len"] % 64 == 0
    assert not any(k.startswith("SENDNN_INFERENCE_WARMUP") for k in plan["env"])


def test_pooling_model_gets_warmup_env():
    plan = plan_for("model=e5_large", "runtime=static", "backend=eager")
    assert plan["warmup_shapes"] == [[512, 0, 64]]
    assert plan["env"]["SENDNN_INFERENCE_WARMUP_PROMPT_LENS"] == "512"
    assert plan["env"]["SENDNN_INFERENCE_WARMUP_BATCH_SIZES"] == "64"
    assert (plan["engine_args"]["max_model_len"], plan["engine_args"]["max_num_seqs"]) == (512, 64)


def test_cpu_backend_engine_args_yield_to_the_users():
    assert plan_for("backend=cpu")["engine_args"]["enforce_eager"] is True
    plan = plan_for("backend=cpu", "+engine_args.enforce_eager=false")
    assert plan["engine_args"]["enforce_eager"] is False
    assert "enforce_eager" not in plan_for("backend=eager")["engine_args"]

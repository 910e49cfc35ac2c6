"""run_mode's pieces that need no vLLM: the launch env, engine args, the registry check and
the plan's promises, on objects shaped like a VllmConfig. Plans come from the real tree."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from spyre_hydra.conftree.compose import compose_launch
from spyre_hydra.engine import modes
from spyre_hydra.errors import ConfigValidationError, PlanMismatchError
from spyre_hydra.legacy.plugin_file import model_config_file
from spyre_hydra.plan.build import build_plan

GRANITE_8B = (Path(__file__).resolve().parents[1] / "data" / "hf_configs" / "ibm-granite"
              / "granite-3.3-8b-instruct" / "config.json")
TP4_ENV = {"VLLM_DT_MAX_BATCH_TKV_LIMIT": "131072", "FLEX_HDMA_P2PSIZE": "268435456",
           "FLEX_HDMA_COLLSIZE": "33554432"}


def plan_for(*overrides: str, environ=None) -> dict:
    cfg = compose_launch(list(overrides))
    return build_plan(cfg, cfg.hydra.runtime.choices.model, list(overrides), environ=environ or {})


def fake_vc(hf, tp=4, max_model_len=32768, max_num_seqs=32, blocks=None, tokens=None):
    return SimpleNamespace(
        model_config=SimpleNamespace(hf_config=hf, max_model_len=max_model_len, model="m"),
        parallel_config=SimpleNamespace(world_size=tp, tensor_parallel_size=tp),
        scheduler_config=SimpleNamespace(max_num_seqs=max_num_seqs,
                                         max_num_batched_tokens=tokens),
        cache_config=SimpleNamespace(num_gpu_blocks_override=blocks))


def granite_hf():
    return SimpleNamespace(**json.loads(GRANITE_8B.read_text()))


def test_launch_env_eager_adds_port_catalog_file_and_stderr_logging():
    plan = plan_for("model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "backend=eager")
    env = modes.launch_env(plan, "generate", environ={})
    assert env["SENDNN_INFERENCE_DYNAMO_BACKEND"] == "eager" and env["MASTER_ADDR"] == "127.0.0.1"
    assert 0 < int(env["MASTER_PORT"]) < 65536
    assert env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"  # generate: in-process core
    assert env["VLLM_LOGGING_STREAM"] == "ext://sys.stderr"
    assert {k: env[k] for k in TP4_ENV} == TP4_ENV
    exported = yaml.safe_load(Path(env["SENDNN_INFERENCE_MODEL_CONFIG_FILE"]).read_text())
    tp4 = [c for c in exported["models"]["ibm-granite/granite-3.3-8b-instruct"]
           ["continuous_batching_configs"] if c["tp_size"] == 4][0]
    assert tp4["device_config"]["num_gpu_blocks_override"] == 2080  # resolved for 1.0.2


def test_launch_env_keeps_user_values_and_cpu_needs_no_port():
    plan = plan_for("backend=eager")
    user = {"MASTER_PORT": "29999", "SENDNN_INFERENCE_MODEL_CONFIG_FILE": "/mine.yaml"}
    env = modes.launch_env(plan, "serve", environ=user)
    assert not set(user) & set(env)  # set only where unset, like the plugin
    assert "VLLM_ENABLE_V1_MULTIPROCESSING" not in env  # the server keeps its own core
    cpu = modes.launch_env(plan_for("backend=cpu"), "config", environ={})
    assert cpu["VLLM_PLUGINS"] == "none" and "MASTER_PORT" not in cpu
    assert "SENDNN_INFERENCE_MODEL_CONFIG_FILE" not in cpu


def test_model_config_file_is_cached_per_version(spyre_cache):
    first = model_config_file("1.0.2")
    assert first.parent == spyre_cache / "model_configs"
    assert model_config_file("1.0.2") == first
    assert model_config_file("1.0.3") != first
    for version, blocks in (("1.0.2", 2080), ("1.0.3", 8192)):
        models = yaml.safe_load(model_config_file(version).read_text())["models"]
        tp4 = [c for c in models["ibm-granite/granite-3.3-8b-instruct"]
               ["continuous_batching_configs"] if c["tp_size"] == 4]
        assert tp4[0]["device_config"]["num_gpu_blocks_override"] == blocks


def test_resolve_engine_args_drops_default_nones_and_names_the_server(granite_8b_config_dir):
    # an existing checkpoint: the plan checks model.path (spyre_hydra.plan.inputs)
    ckpt = str(granite_8b_config_dir)
    plan = plan_for("model=granite_8b", "device=tp1", f"model.path={ckpt}", "backend=cpu")
    args = modes.resolve_engine_args(plan)
    assert args["model"] == ckpt
    assert args["served_model_name"] == "ibm-granite/granite-3.3-8b-instruct"
    assert args["enforce_eager"] is True  # conf/backend/cpu.yaml engine_args
    assert "num_gpu_blocks_override" not in args and "max_num_batched_tokens" not in args


def test_unknown_builtin_checkpoint_is_refused_by_the_plan():
    # The plan reads model.path before anything slow starts, so the engine never sees it.
    with pytest.raises(ConfigValidationError,
                       match=r"'builtin:tiny_bogus' is not a builtin checkpoint. Valid: "
                             r"builtin:tiny_granite"):
        plan_for("model.path=builtin:tiny_bogus", "backend=eager")


def test_check_registry_applies_the_plans_settings(unset_env):
    unset_env(*TP4_ENV)
    plan = plan_for("model=granite_8b", "device=tp4", "sendnn_version=1.0.3", "backend=eager")
    vc = fake_vc(granite_hf())
    summary = modes.check_registry(plan, vc, strict=False)
    assert summary.num_blocks.applied == 8192 == vc.cache_config.num_gpu_blocks_override
    modes.check_promises(plan, vc, environ=modes.promised_env(plan))


def test_checkpoint_of_another_model_is_refused():
    plan = plan_for("model=granite_8b", "device=tp4", "backend=eager")
    llama = SimpleNamespace(model_type="llama", num_hidden_layers=2, hidden_size=128)
    with pytest.raises(PlanMismatchError, match=r"^model: the plan promised "
                       r"'ibm-granite/granite-3.3-8b-instruct' but vLLM's VllmConfig has None\."
                       r" Fix: the checkpoint's config.json \(model_type='llama'\) matches no "
                       r"catalog entry; point model.path"):
        modes.check_registry(plan, fake_vc(llama), strict=False)


@pytest.mark.parametrize("field,vc_kwargs,promised,actual", [
    ("max_model_len", {"max_model_len": 8192}, 32768, 8192),
    ("max_num_seqs", {"max_num_seqs": 4}, 32, 4),
    ("world_size", {"tp": 2}, 4, 2),
    ("num_gpu_blocks_override", {"blocks": 16416}, 2080, 16416),
])
def test_broken_promise_names_field_and_values(field, vc_kwargs, promised, actual):
    plan = plan_for("model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "backend=eager")
    kwargs = {"blocks": 2080, **vc_kwargs}
    if field == "world_size":  # both tp fields follow tp
        kwargs["tp"] = 2
    vc = fake_vc(granite_hf(), **kwargs)
    if field == "world_size":
        vc.parallel_config.tensor_parallel_size = 4
    with pytest.raises(PlanMismatchError, match=rf"^engine_args\.{field}: the plan promised "
                       rf"{promised} but vLLM's VllmConfig has {actual}\. Fix:"):
        modes.check_promises(plan, vc, environ=modes.promised_env(plan))


def test_env_promise_is_checked():
    plan = plan_for("backend=eager")
    environ = {**modes.promised_env(plan), "SENDNN_INFERENCE_DYNAMO_BACKEND": "sendnn"}
    with pytest.raises(PlanMismatchError, match=r"^env\.SENDNN_INFERENCE_DYNAMO_BACKEND: the plan "
                       r"promised 'eager' but the environment has 'sendnn'\. Fix: unset"):
        modes.check_env(plan, environ)


def test_prompts_file_and_empty_prompts(tmp_path):
    """The plan carries the prompts (prompts_file read at plan time); never empty."""
    from spyre_hydra.plan.inputs import read_prompts

    path = tmp_path / "prompts.txt"
    path.write_text("first prompt\n\n  \nsecond\n")
    plan = plan_for("mode=generate", "prompts=[ignored]", f"prompts_file={path}")
    assert plan.inputs.prompts == ("first prompt", "second")
    assert plan_for("mode=config", f"prompts_file={path}").inputs.prompts == ()
    with pytest.raises(ConfigValidationError, match=r"prompts: no prompt to generate from\. "
                       r"Fix: 'prompts=\[Hello, my name is\]'"):
        read_prompts(None, [])
    with pytest.raises(ConfigValidationError, match=r"prompts_file: '/nope.txt' does not exist\. Fix:"):
        read_prompts("/nope.txt", [])


def test_sendnn_engine_without_a_card_is_refused_before_vllm(monkeypatch):
    from spyre_hydra.errors import PlatformError

    monkeypatch.setattr(modes, "detect_backend", lambda *roots: "eager")
    plan = plan_for("backend=sendnn", "mode=generate")
    with pytest.raises(PlatformError, match=r"backend=sendnn with mode=generate needs a Spyre "
                       r"card and torch_sendnn.*Fix: backend=eager"):
        modes.run_mode(plan)


def test_backend_env_and_model_env_are_both_promised():
    plan = plan_for("model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "backend=eager")
    promised = modes.promised_env(plan)
    assert promised["SENDNN_INFERENCE_DYNAMO_BACKEND"] == "eager"  # the backend's static env
    assert {k: promised[k] for k in TP4_ENV} == TP4_ENV  # the model's device env
    # a plan from before the backend_env split (all in "env") gives the same launch env
    old = {**plan.to_dict(), "env": promised}
    old.pop("backend_env", None)
    assert modes.promised_env(old) == promised
    with pytest.raises(PlanMismatchError, match=r"^env\.FLEX_HDMA_P2PSIZE: the plan promised"):
        modes.check_env(plan, {**promised, "FLEX_HDMA_P2PSIZE": "1"})

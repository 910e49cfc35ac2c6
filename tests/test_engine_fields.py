"""engine_args are checked at plan time against the shipped table of vLLM's arguments
(spyre_hydra/plan/vllm_engine_args.json), without vLLM: an unknown key or a value of the
wrong kind stops the plan, every problem in one error. tests/engine/test_engine_argtable.py
holds the table equal to the installed vLLM."""

from __future__ import annotations

import re

import pytest

from spyre_hydra import compose
from spyre_hydra.errors import ConfigValidationError, EngineError
from spyre_hydra.plan import engine_fields
from spyre_hydra.plan.engine_fields import check_engine_args, table, value_problems
from spyre_hydra.plan.pipeline import check_engine

TINY = ["model=tiny_granite", "mode=plan"]
V = re.escape(table()["vllm"])  # the table's release: messages name it


def _source(key: str) -> str:
    return f"src of {key}"


@pytest.fixture
def same_vllm(monkeypatch):
    """The installed vLLM is the table's release (the engine venv's case, made explicit so
    the test means the same in a venv without vLLM)."""
    monkeypatch.setattr(engine_fields, "installed_vllm", lambda: table()["vllm"])


def test_a_typo_names_key_value_close_match_and_fix(same_vllm):
    with pytest.raises(ConfigValidationError, match=(
            r"engine_args\.enforce_eagr \(in command line .*\): true: 'enforce_eagr' is not an "
            r"argument of vLLM " + V + r" .*Did you mean: enforce_eager\? Fix: "
            r"engine_args\.enforce_eager=true")):
        compose([*TINY, "engine_args.enforce_eagr=true"])


def test_a_typo_of_a_key_the_tree_owns_points_at_the_tree(same_vllm):
    with pytest.raises(ConfigValidationError, match=(
            r"'max_num_seq' is not an argument .*Did you mean: max_num_seqs\?"
            r" Fix: drop it and use runtime\.max_num_seqs=8")):
        compose([*TINY, "engine_args.max_num_seq=8"])


@pytest.mark.parametrize("override,message", [
    ("engine_args.max_num_batched_tokens=abc",
     "'abc' is a string: vLLM " + V + r"'s max_num_batched_tokens takes an int or null\. "
     r"Fix: engine_args\.max_num_batched_tokens=<int>"),
    ("engine_args.gpu_memory_utilization=high",
     r"'high' is a string: .*gpu_memory_utilization takes a float\. "
     r"Fix: engine_args\.gpu_memory_utilization=<float>"),
    ("engine_args.enforce_eager=7",
     r"7 is an int: .*enforce_eager takes a bool \(true/false\)\. .*=<true\|false>"),
    ("engine_args.dtype=bf16",
     r"'bf16' is not one of its choices: .*dtype takes one of: 'auto', 'half', .*"
     r"Fix: engine_args\.dtype=bfloat16"),
    ("engine_args.max_lora_rank=true",  # True == 1, yet not the choice 1
     r"true is a bool \(true/false\): .*max_lora_rank takes one of: 1, 8, 16"),
    ("engine_args.enable_prefix_caching=[1]", r"\[1\] is a list: .*takes a bool"),
])
def test_a_value_of_the_wrong_kind_names_key_value_and_type(same_vllm, override, message):
    with pytest.raises(ConfigValidationError, match=message):
        compose([*TINY, override])


def test_every_problem_is_reported_at_once_with_the_reserved_keys(same_vllm):
    with pytest.raises(ConfigValidationError, match=r"\(4 problems\)") as info:
        compose([*TINY, "engine_args.max_num_seqs=8", "engine_args.max_num_seq=8",
                 "engine_args.dtype=7", "engine_args.port=9"])
    assert [p.key for p in info.value.problems] == [
        "engine_args.max_num_seqs", "engine_args.max_num_seq", "engine_args.dtype",
        "engine_args.port"]
    assert "runtime.max_num_seqs" in info.value.problems[0].fix  # check_reserved's own
    assert info.value.problems[3].fix == "drop it and use serve.port=8000"


@pytest.mark.parametrize("override", [
    "engine_args.enable_prefix_caching=true", "engine_args.gpu_memory_utilization=1",
    "engine_args.served_model_name=[a,b]", "engine_args.compilation_config={mode: 3}",
    "engine_args.compilation_config='{\"mode\": 3}'", "engine_args.hf_overrides={a: 1}",
    "engine_args.dtype=bfloat16", "engine_args.tokenizer_mode=custom_mode",
    "engine_args.max_num_batched_tokens=null", "engine_args.optimization_level=2",
    # `vllm serve` options reach vLLM as text: one value for a list option is fine
    "+engine_args.api_key=secret", "+engine_args.enable_auto_tool_choice=true",
])
def test_valid_engine_args_pass(same_vllm, override):
    name, _, _ = override.lstrip("+").partition("=")
    assert name.split(".")[1] in compose([*TINY, override]).args


def test_an_engine_args_list_field_takes_no_bare_string(same_vllm):
    # EngineArgs gets the value itself (not via vllm serve's parser): "x" is not ["x"]
    assert [p.key for p in value_problems({"allowed_media_domains": "x"}, {}, _source)] == [
        "engine_args.allowed_media_domains"]


def test_the_backends_engine_args_are_checked_under_their_own_key(same_vllm):
    tree = {"backend": {"engine_args": {"enforce_eagre": True}}, "engine_args": {}}
    with pytest.raises(ConfigValidationError, match=(
            r"backend\.engine_args\.enforce_eagre \(in src of backend\.engine_args\."
            r"enforce_eagre\)")):
        check_engine_args(tree, _source, strict=False)


@pytest.mark.parametrize("overrides", [
    ["model=tiny_granite", "mode=plan"],
    ["model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "mode=plan", "backend=cpu"],
    ["model=granite_8b", "device=tp4", "runtime=static", "mode=plan", "backend=eager"],
    ["model=tiny_granite", "mode=plan", "engine_args.num_gpu_blocks_override=64",
     "engine_args.max_num_batched_tokens=512"],
])
def test_the_keys_spyre_hydra_sets_pass(same_vllm, overrides):
    plan = compose(overrides)
    args = {**plan.args, "served_model_name": plan.model}  # the engine side adds it
    assert value_problems(args, {}, _source, serve=False) == []


def test_no_engine_args_reads_no_table(same_vllm, monkeypatch):
    monkeypatch.setattr(engine_fields, "table", lambda: pytest.fail("table read"))
    assert check_engine_args({"backend": {}, "engine_args": {}}, _source, False) == []


def test_another_vllm_makes_them_warnings_unless_strict(monkeypatch):
    monkeypatch.setattr(engine_fields, "installed_vllm", lambda: "99.0.0")
    plan = compose([*TINY, "engine_args.brand_new_field=1"])
    assert plan.args["brand_new_field"] == 1
    (warning,) = [w for w in plan.warnings if "brand_new_field" in w]
    assert (f"checked against vLLM {table()['vllm']}'s arguments; the installed vLLM 99.0.0 "
            "may differ") in warning and warning.endswith("strict=true makes this an error.")
    with pytest.raises(ConfigValidationError, match=r"brand_new_field.*installed vLLM 99\.0\.0"):
        compose([*TINY, "engine_args.brand_new_field=1", "strict=true"])


def test_another_vllm_still_refuses_a_reserved_key(monkeypatch):
    monkeypatch.setattr(engine_fields, "installed_vllm", lambda: "99.0.0")
    with pytest.raises(ConfigValidationError, match=r"\(2 problems\)"):
        compose([*TINY, "engine_args.max_model_len=64", "engine_args.brand_new_field=1"])


def test_no_vllm_installed_checks_against_the_table(monkeypatch):
    monkeypatch.setattr(engine_fields, "installed_vllm", lambda: None)
    with pytest.raises(ConfigValidationError, match="'brand_new_field' is not an argument"):
        compose([*TINY, "engine_args.brand_new_field=1"])


def test_serve_options_stop_generate_before_vllm_is_imported(same_vllm):
    args = {"model": "/nowhere", "api_key": "x", "enforce_eager": True}
    with pytest.raises(EngineError, match=(
            r"engine_args api_key: `vllm serve` option\(s\), not EngineArgs fields; "
            r"mode=generate does not start vLLM's server\. Fix: mode=serve, or drop them\.")):
        check_engine(args, "generate")
    with pytest.raises(EngineError, match=r"model\.path='/nowhere' does not exist"):
        check_engine(args, "serve")  # passes the serve-only check, fails on the model


def test_the_table_covers_what_spyre_hydra_sets():
    data = table()
    assert data["format"] == 1 and re.fullmatch(r"\d+\.\d+\.\d+", data["vllm"])
    from spyre_hydra.plan.build import ENGINE_KEYS

    for name in (*ENGINE_KEYS, "served_model_name", "enforce_eager"):
        assert name in data["engine"], name
    assert not set(data["serve"]) & set(data["engine"])

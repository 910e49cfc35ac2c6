"""The LaunchPlan is everything a run needs, and its JSON form rebuilds it exactly."""

from __future__ import annotations

import json

import pytest

import spyre_hydra
from spyre_hydra import LaunchPlan


@pytest.mark.parametrize("overrides", [
    ["model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "backend=eager", "mode=plan"],
    ["runtime=static", "backend=cpu", "mode=generate", "prompts=[a,b]", "max_tokens=3"],
    ["mode=serve", "serve.port=8123", "strict=true", "backend=eager"],
])
def test_the_json_form_round_trips(overrides):
    plan = spyre_hydra.compose(overrides, environ={})
    again = LaunchPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    assert again.to_dict() == plan.to_dict()


def test_the_plan_carries_strict_inputs_and_roots(tmp_path):
    plan = spyre_hydra.compose(["mode=generate", "prompts=[hi, there]", "max_tokens=5",
                                "serve.port=9001", "bench.num_prompts=7"], environ={})
    assert plan.strict is False
    assert plan.inputs.prompts == ("hi", "there") and plan.inputs.max_tokens == 5
    assert (plan.inputs.serve_host, plan.inputs.serve_port) == ("127.0.0.1", 9001)
    assert plan.inputs.bench["num_prompts"] == 7 and plan.inputs.sweep["repeats"] == 1
    assert plan.conf_tree.user_dir is None and plan.conf_tree.find("backend", "cpu")
    strict = spyre_hydra.compose(["mode=plan"], environ={"SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG": "1"})
    assert strict.strict is True  # computed once, from the tree or the env
    mine = tmp_path / "conf"
    (mine / "device").mkdir(parents=True)
    (mine / "device" / "tp8.yaml").write_text("name: tp8\ntp_size: 8\n")
    user = spyre_hydra.compose(["mode=plan"], conf_dir=mine, environ={})
    assert user.conf_tree.user_dir == mine.resolve()
    assert "tp8" in user.conf_tree.options("device")


def test_prompts_are_read_at_plan_time_only_for_a_mode_that_reads_them(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("one\ntwo\n")
    assert spyre_hydra.compose(["mode=generate", f"prompts_file={path}"],
                               environ={}).inputs.prompts == ("one", "two")
    assert spyre_hydra.compose(["mode=config", f"prompts_file={path}"],
                               environ={}).inputs.prompts == ()


def test_the_plan_previews_the_layout_as_configure_would_on_a_vllm_config():
    """Plan time has no VllmConfig: preview_layout takes the values it would hold, and gives
    what preview(vllm_config) gives."""
    from types import SimpleNamespace

    from spyre_hydra.catalog.configurator import DefaultConfigurator, DeviceSettings

    conf = DefaultConfigurator("m", {4: DeviceSettings({"A": "1"}, 2080, 1024)}, strict=False)
    vc = SimpleNamespace(parallel_config=SimpleNamespace(world_size=4),
                         cache_config=SimpleNamespace(num_gpu_blocks_override=99),
                         scheduler_config=SimpleNamespace(max_num_batched_tokens=None))
    by_layout = conf.preview_layout(4, 99, None, {"A": "2"})
    by_config = conf.preview(vc, {"A": "2"})
    assert by_layout.format_log_message() == by_config.format_log_message()
    assert by_layout.conflicts() == by_config.conflicts() and len(by_layout.conflicts()) == 2

"""The conf schema's two plugin forms, through composition and plans: a CB entry's own
`device_config` (replacing the tp block for that entry, `{}` for none) and 2-field static
shapes [prompt_len, batch_size] matched without new_tokens; legacy import/export keep them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from spyre_hydra.catalog.registry import get_model_registry
from spyre_hydra.legacy.exporter import export_legacy
from spyre_hydra.legacy.importer import import_legacy
from spyre_hydra.plan.front import compose

MODEL = """\
defaults:
  - family/base@_here_
  - _self_
hf_id: org/split-tp4
family: test
architecture: {model_type: split_test, num_hidden_layers: 3}
continuous_batching_configs:
  - {tp_size: 4, max_model_len: 4096, max_num_seqs: 8}
  - {tp_size: 4, max_model_len: 8192, max_num_seqs: 4, device_config: {env_vars: {CMP_X: two}, num_gpu_blocks_override: 64}}
  - {tp_size: 4, max_model_len: 2048, max_num_seqs: 2, device_config: {}}
static_batching_configs:
  - {tp_size: 1, warmup_shapes: [[128, 4], [256, 20, 2]]}
device_configs:
  tp4: {env_vars: {CMP_X: block}, num_gpu_blocks_override: {"<1.0.3": 10, default: 20}}
"""


@pytest.fixture
def conf(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "split_tp4.yaml").write_text(MODEL)
    return tmp_path


@pytest.mark.parametrize("mml,mns,env,blocks", [(4096, 8, {"CMP_X": "block"}, 20),
                                               (8192, 4, {"CMP_X": "two"}, 64),
                                               (2048, 2, {}, None)])
def test_plan_takes_the_entrys_own_settings(conf, unset_env, mml, mns, env, blocks):
    unset_env("CMP_X")
    plan = compose(["model=split_tp4", "device=tp4", "sendnn_version=1.0.3", "mode=plan",
                    "backend=eager", f"runtime.max_model_len={mml}",
                    f"runtime.max_num_seqs={mns}"], conf)
    assert plan.supported and plan.env == env
    assert plan.to_dict()["engine_args"]["num_gpu_blocks_override"] == blocks


def test_registry_runtime_answers_agree_with_the_plan(conf):
    registry = get_model_registry(conf)
    hf = SimpleNamespace(model_type="split_test", num_hidden_layers=3)
    for (mml, mns), want in {(4096, 8): ({"CMP_X": "block"}, 10), (8192, 4): ({"CMP_X": "two"},
                                                                             64),
                             (2048, 2): None}.items():
        got = registry.get_configurator_for_runtime(SimpleNamespace(
            model_config=SimpleNamespace(hf_config=hf, max_model_len=mml),
            parallel_config=SimpleNamespace(world_size=4),
            scheduler_config=SimpleNamespace(max_num_seqs=mns)), sendnn_version="1.0.2")
        assert got is not None
        settings = got.get_device_config(4)
        assert (None if settings is None else (dict(settings.env_vars),
                                               settings.num_gpu_blocks_override)) == want


def test_two_field_shapes_compose_and_plan_as_pooling_shapes(conf):
    plan = compose(["model=split_tp4", "runtime=static", "mode=plan", "backend=eager"], conf)
    assert plan.warmup_shapes == ((128, 0, 4), (256, 20, 2))  # a pair has no new tokens
    # new_tokens takes no part in matching, as in the plugin
    plan = compose(["model=split_tp4", "runtime=static", "mode=plan", "backend=eager",
                    "runtime.warmup_shapes=[[128,7,4]]"], conf)
    assert plan.supported
    plan = compose(["model=split_tp4", "runtime=static", "mode=plan", "backend=eager",
                    "runtime.warmup_shapes=[[128,0,2]]"], conf)
    assert not plan.supported


def test_a_bad_entry_device_config_is_refused_with_its_key(conf):
    text = MODEL.replace("device_config: {}", "device_config: {env_vars: {1BAD: x}}")
    (conf / "model" / "split_tp4.yaml").write_text(text)
    with pytest.raises(ValueError, match=r"continuous_batching_configs\[2\]\.device_config\."
                                         r"env_vars\.1BAD"):
        get_model_registry(conf)


PLUGIN = """
models:
  org/split:
    architecture: {model_type: split_test, num_hidden_layers: 5}
    continuous_batching_configs:
      - {tp_size: 4, max_model_len: 4096, max_num_seqs: 8, device_config: {env_vars: {CMP_X: "1"}}}
      - {tp_size: 4, max_model_len: 8192, max_num_seqs: 4, device_config: {env_vars: {CMP_X: "2"}}}
      - {tp_size: 4, max_model_len: 2048, max_num_seqs: 2}
"""


def test_import_keeps_differing_entry_settings_and_export_writes_them(tmp_path):
    src = tmp_path / "model_configs.yaml"
    src.write_text(PLUGIN)
    import_legacy(src, tmp_path / "conf")
    entry = get_model_registry(tmp_path / "conf").get_model_config("org/split")
    assert entry.device_configs == {}
    assert [c.get("device_config") for c in entry.continuous_batching_configs] == [
        {"env_vars": {"CMP_X": "1"}}, {"env_vars": {"CMP_X": "2"}}, None]
    out = export_legacy(tmp_path / "back.yaml", tmp_path / "conf", sendnn_version="1.0.3")
    back = yaml.safe_load(out.read_text())["models"]["org/split"]
    assert back["continuous_batching_configs"] == yaml.safe_load(PLUGIN)["models"][
        "org/split"]["continuous_batching_configs"]


def test_explain_shows_the_entrys_own_values(conf, unset_env):
    from spyre_hydra.cli.explain import explain

    unset_env("CMP_X")
    result = explain(["model=split_tp4", "device=tp4", "sendnn_version=1.0.3",
                      "runtime.max_model_len=8192", "runtime.max_num_seqs=4"], conf, {})
    rows = {r["key"]: r["value"] for r in result["rows"]}
    assert rows["engine_args.num_gpu_blocks_override"] == 64
    assert rows["env.CMP_X"] == "two"


def test_device_setting_resolver_picks_the_entry_then_the_block():
    from omegaconf import OmegaConf

    from spyre_hydra.conftree.resolvers import device_setting

    blocks = {"tp4": {"env_vars": {"A": 1}, "chunked_prefill_config":
                      {"max_num_batched_tokens": 256}}}
    entries = [{"tp_size": 4, "max_model_len": 64, "max_num_seqs": 1},
               {"tp_size": 4, "max_model_len": 128, "max_num_seqs": 1,
                "device_config": {"env_vars": {"A": 2}}}]
    env = device_setting("env_vars", blocks, entries, "tp4", 4, 64, 1)
    assert OmegaConf.is_config(env) and OmegaConf.to_container(env) == {"A": 1}
    assert OmegaConf.to_container(device_setting("env_vars", blocks, entries, "tp4", 4, 128, 1)
                                  ) == {"A": 2}
    assert device_setting("chunked_prefill_config.max_num_batched_tokens", blocks, entries,
                          "tp4", 4, 64, 1) == 256
    assert device_setting("chunked_prefill_config.max_num_batched_tokens", blocks, entries,
                          "tp4", 4, 128, 1) is None  # the entry's own settings replace the block
    # static runtimes (no max_model_len) and bad data give the device block / the default
    assert OmegaConf.to_container(device_setting("env_vars", blocks, entries, "tp4", 4, None,
                                                 None)) == {"A": 1}
    assert OmegaConf.to_container(device_setting("env_vars", "junk", ["x"], "tp4", 4, 1, 1)
                                  ) == {}

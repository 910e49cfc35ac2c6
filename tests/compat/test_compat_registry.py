"""The plugin's registry API (spyre_hydra.compat...model_registry) over spyre_hydra's
registry: building one, loading plugin files and conf trees, matching and runtime answers in
the plugin's shapes."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from spyre_hydra.catalog.configurator import DefaultConfigurator
from spyre_hydra.catalog.registry import ModelConfigRegistry as CoreRegistry
from spyre_hydra.compat.sendnn_inference import envs
from spyre_hydra.compat.sendnn_inference.config.configurators import ModelConfigurator
from spyre_hydra.compat.sendnn_inference.config.model_config import ModelConfig
from spyre_hydra.compat.sendnn_inference.config.model_registry import (
    ModelConfigRegistry, get_model_registry)
from spyre_hydra.compat.sendnn_inference.platform import SpyrePlatform
from spyre_hydra.errors import (CatalogFileNotFoundError, CatalogLoadError,
                                ConfigValidationError)

PLUGIN_FILE = """
templates:
  tp4: &tp4 {env_vars: {FLEX_A: "1"}, num_gpu_blocks_override: {torch_sendnn_lt_1_0_3: 10, default: 20}}
models:
  org/dec:
    architecture: {model_type: llama, num_hidden_layers: 2}
    continuous_batching_configs:
      - {tp_size: 4, max_model_len: 4096, max_num_seqs: 8, device_config: *tp4}
      - {tp_size: 4, max_model_len: 8192, max_num_seqs: 4, device_config: {env_vars: {FLEX_A: "2"}}}
      - {tp_size: 4, max_model_len: 1024, max_num_seqs: 2}
  org/enc:
    architecture: {model_type: bert}
    static_batching_configs:
      - tp_size: 1
        warmup_shapes: [{prompt_len: 64, new_tokens: 20, batch_size: 4}, {prompt_len: 128, batch_size: 2}]
"""


def vllm(model_type, tp=1, mml=None, mns=None, **hf):
    return SimpleNamespace(
        model_config=SimpleNamespace(hf_config=SimpleNamespace(model_type=model_type, **hf),
                                     max_model_len=mml, model="ckpt"),
        parallel_config=SimpleNamespace(world_size=tp),
        scheduler_config=SimpleNamespace(max_num_seqs=mns, max_num_batched_tokens=None),
        cache_config=SimpleNamespace(num_gpu_blocks_override=None))


@pytest.fixture
def plugin_file(tmp_path):
    path = tmp_path / "model_configs.yaml"
    path.write_text(PLUGIN_FILE)
    return path


@pytest.fixture
def loaded(plugin_file):
    registry = ModelConfigRegistry()
    registry.initialize(plugin_file)
    return registry


def test_a_new_registry_is_empty_and_is_spyre_hydras():
    registry = ModelConfigRegistry()
    assert isinstance(registry, CoreRegistry) and registry.list_models() == []
    assert registry.find_matching_model(vllm("llama").model_config) is None
    assert ModelConfigRegistry.get_instance() is ModelConfigRegistry.get_instance()


def test_register_model_then_match_and_replace(caplog):
    registry = ModelConfigRegistry()
    one = ModelConfig.from_dict("org/a", {"architecture": {"model_type": "llama"},
                                          "continuous_batching_configs": [
                                              {"tp_size": 1, "max_model_len": 64,
                                               "max_num_seqs": 1}]})
    registry.register_model(one)
    assert registry.find_matching_model(vllm("llama").model_config) is one
    registry.register_model(one)
    assert registry.list_models() == ["org/a"] and "already registered" in caplog.text
    with pytest.raises(ConfigValidationError, match="has no runtime entry"):
        registry.register_model(ModelConfig("org/b", one.architecture))


def test_plugin_file_loads_with_per_entry_device_configs(loaded):
    assert loaded.list_models() == ["org/dec", "org/enc"]
    config = loaded.get_model_config("org/dec")
    devices = [c.device_config for c in config.continuous_batching_configs]
    assert [d.env_vars if d else None for d in devices] == [{"FLEX_A": "1"}, {"FLEX_A": "2"},
                                                            None]
    assert devices[0].num_gpu_blocks_override == {"<1.0.3": 10, "default": 20}


@pytest.mark.parametrize("mml,mns,env,blocks", [(4096, 8, {"FLEX_A": "1"}, 20),
                                               (8192, 4, {"FLEX_A": "2"}, None),
                                               (1024, 2, None, None)])
def test_each_cb_entry_brings_its_own_device_config(loaded, mml, mns, env, blocks):
    got = loaded.get_configurator_for_runtime(vllm("llama", 4, mml, mns, num_hidden_layers=2),
                                              sendnn_version="1.0.3")
    assert isinstance(got, ModelConfigurator) and got.model_config.name == "org/dec"
    if env is None:
        assert got.device_config is None
    else:
        assert (got.device_config.env_vars, got.device_config.num_gpu_blocks_override,
                got.device_config.tp_size) == (env, blocks, 4)


def test_block_count_follows_the_platforms_torch_sendnn(loaded, monkeypatch):
    monkeypatch.setattr(SpyrePlatform, "sendnn_configured", staticmethod(lambda: True))
    monkeypatch.setattr(SpyrePlatform, "sendnn_version", staticmethod(lambda: (1, 0, 2)))
    got = loaded.get_configurator_for_runtime(vllm("llama", 4, 4096, 8, num_hidden_layers=2))
    assert got.device_config.num_gpu_blocks_override == 10
    monkeypatch.setattr(SpyrePlatform, "sendnn_configured", staticmethod(lambda: False))
    got = loaded.get_configurator_for_runtime(vllm("llama", 4, 4096, 8, num_hidden_layers=2))
    assert got.device_config.num_gpu_blocks_override == 20  # not installed: the default


@pytest.mark.parametrize("shapes,hit", [([(64, 4)], True), ([(64, 4), (128, 2)], True),
                                        ([[64, 8, 4]], True), ([(64, 2)], False), ([], False)])
def test_static_shapes_match_on_prompt_len_and_batch_size(loaded, shapes, hit):
    got = loaded.get_configurator_for_runtime(vllm("bert", 1), shapes)
    assert (got is not None) == hit
    if hit:
        assert got.device_config is None and got.model_config.name == "org/enc"


def test_unknown_and_unsupported_are_none_with_the_plugins_log_lines(loaded, caplog):
    caplog.set_level(logging.DEBUG, logger="spyre_hydra")
    assert loaded.get_configurator_for_runtime(vllm("gpt2", 1, 64, 1)) is None
    assert "No model architecture match" in caplog.text
    assert "No matching model configuration found for 'ckpt'" in caplog.text
    assert loaded.get_configurator_for_runtime(vllm("llama", 8, 4096, 8,
                                                    num_hidden_layers=2)) is None
    assert "does not support the requested runtime configuration" in caplog.text
    assert loaded.find_matching_model(SimpleNamespace(hf_config=None)) is None
    assert "No HF config available for matching" in caplog.text


def test_strict_by_the_plugins_variable(loaded, monkeypatch):
    monkeypatch.setenv("SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG", "1")
    assert envs.SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG is True
    with pytest.raises(RuntimeError, match="does not support tp8"):
        loaded.get_configurator_for_runtime(vllm("llama", 8, 4096, 8, num_hidden_layers=2))


@pytest.mark.parametrize("text", ["", "other_key: value\n", "models:\n"])
def test_a_file_without_models_loads_none(tmp_path, text):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    registry = ModelConfigRegistry()
    registry.initialize(path)
    assert registry.list_models() == []


def test_missing_and_broken_files(tmp_path, caplog):
    registry = ModelConfigRegistry()
    with pytest.raises(FileNotFoundError, match=r"Model configuration file not found at "
                                                rf"{tmp_path}/no\.yaml\. Fix:") as info:
        registry.initialize(tmp_path / "no.yaml")
    assert isinstance(info.value, CatalogFileNotFoundError)
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [\n")
    with pytest.raises(RuntimeError, match=r"Failed to load model configurations from .*"
                                           r"bad\.yaml:2:1: malformed YAML \(did not find "
                                           r"expected node content\)\. Fix:") as info:
        registry.initialize(bad)
    assert isinstance(info.value, CatalogLoadError) and "\n" not in str(info.value)
    bad.write_text("models: {}\n")
    bad.chmod(0)
    with pytest.raises(RuntimeError, match=r"bad\.yaml: it has no read permission"):
        registry.initialize(bad)  # refused for every user, root too
    bad.chmod(0o644)
    bad.write_bytes(b"models: \0")
    with pytest.raises(RuntimeError, match=r"bad\.yaml: it is binary .*Fix: pass a UTF-8"):
        registry.initialize(bad)
    bad.write_text("models:\n  a: {architecture: {model_type: x}}\n  b: {architecture: {}}\n")
    with pytest.raises(ValueError, match=r"\(3 problems\)"):  # every model's, at once
        registry.initialize(bad)


def test_initialize_once_then_skips(loaded, plugin_file, caplog):
    caplog.set_level(logging.DEBUG, logger="spyre_hydra")
    loaded.initialize(plugin_file)
    assert "Registry already initialized, skipping" in caplog.text


def test_default_is_the_shipped_catalog_and_the_env_file_wins(plugin_file, monkeypatch):
    shipped = get_model_registry()
    assert "ibm-granite/granite-3.3-8b-instruct" in shipped.list_models()
    assert shipped is get_model_registry()
    ModelConfigRegistry._instance, ModelConfigRegistry._initialized = None, False
    monkeypatch.setenv("SENDNN_INFERENCE_MODEL_CONFIG_FILE", str(plugin_file))
    assert envs.SENDNN_INFERENCE_MODEL_CONFIG_FILE == str(plugin_file)
    assert get_model_registry().list_models() == ["org/dec", "org/enc"]


def test_shipped_catalog_answers_in_the_plugins_shapes(h):
    registry = ModelConfigRegistry()
    registry.initialize(h.conf)  # a conf dir is a catalog too
    hf = SimpleNamespace(**h.hf_config("ibm-granite/granite-3.3-8b-instruct"))
    matched = registry.find_matching_model(SimpleNamespace(hf_config=hf, model="g"))
    assert matched.name == "ibm-granite/granite-3.3-8b-instruct"
    assert matched.architecture.model_type == "granite"
    tp4 = [c for c in matched.continuous_batching_configs if c.tp_size == 4]
    assert tp4[0].device_config.env_vars["VLLM_DT_MAX_BATCH_TKV_LIMIT"] == 131072
    got = registry.get_configurator_for_runtime(SimpleNamespace(
        model_config=SimpleNamespace(hf_config=hf, max_model_len=32768),
        parallel_config=SimpleNamespace(world_size=4),
        scheduler_config=SimpleNamespace(max_num_seqs=32)), sendnn_version="1.0.2")
    assert isinstance(got, DefaultConfigurator) and isinstance(got, ModelConfigurator)
    assert got.model_config is registry.get_model_config("granite_8b")
    assert got.device_config.num_gpu_blocks_override == 2080


def test_a_replaced_model_keeps_its_place_for_ties():
    registry = ModelConfigRegistry()
    data = {"architecture": {"model_type": "llama"}, "continuous_batching_configs": [
        {"tp_size": 1, "max_model_len": 64, "max_num_seqs": 1}]}
    for name in ("org/first", "org/second", "org/first"):
        registry.register_model(ModelConfig.from_dict(name, data))
    assert registry.list_models() == ["org/first", "org/second"]
    assert registry.find_matching_model(vllm("llama").model_config).name == "org/first"

"""The plugin's data classes (spyre_hydra.compat...model_config) over the catalog's objects:
constructors, from_dict, and refusals as ValueError with the catalog rules' messages."""

from __future__ import annotations

import pytest

from spyre_hydra.catalog.matcher import Pattern
from spyre_hydra.catalog.summary import DeviceSettings
from spyre_hydra.compat.sendnn_inference.config.model_config import (
    ArchitecturePattern, ContinuousBatchingConfig, DeviceConfig, ModelConfig,
    StaticBatchingConfig, WarmupShape)
from spyre_hydra.errors import ConfigValidationError, SpyreHydraError

ENCODER = {"architecture": {"model_type": "bert", "hidden_size": 384},
           "static_batching_configs": [{"tp_size": 1, "warmup_shapes": [
               {"prompt_len": 128, "batch_size": 8}, {"prompt_len": 256, "batch_size": 2}]}]}


def test_pattern_is_the_catalogs_pattern():
    pattern = ArchitecturePattern(model_name="org/m", model_type="bert",
                                  attributes={"layers": 6, "quantization_config": {"a": 1}})
    assert isinstance(pattern, Pattern)
    assert (pattern.name, pattern.model_name, pattern.model_type) == ("org/m", "org/m", "bert")
    assert pattern.field_count == 3  # two attributes plus the one nested key
    assert ArchitecturePattern("x", "bert").attributes == {}


@pytest.mark.parametrize("arch,key", [({"model_type": "bert", "layers": None}, "layers"),
                                      ({"model_type": "bert", "q": {"a": None}}, "q.a")])
def test_none_in_a_pattern_is_a_value_error(arch, key):
    with pytest.raises(ValueError, match=rf"org/m\.architecture\.{key}: is None: an attribute "
                                         r"cannot be None") as info:
        ArchitecturePattern.from_dict("org/m", arch)
    assert isinstance(info.value, ConfigValidationError)


def test_device_config_is_catalog_settings_with_tp_first():
    dev = DeviceConfig(4, {"A": "1"}, 100)
    assert isinstance(dev, DeviceSettings)
    assert (dev.tp_size, dev.env_vars, dev.num_gpu_blocks_override) == (4, {"A": "1"}, 100)
    assert DeviceConfig.from_dict(2, {}).env_vars == {}
    from_dict = DeviceConfig.from_dict(4, {"num_gpu_blocks_override":
                                           {"torch_sendnn_lt_1_0_3": 1, "default": 2},
                                           "chunked_prefill_config":
                                           {"max_num_batched_tokens": 512}})
    # the plugin's version key becomes the catalog's PEP 440 specifier
    assert from_dict.to_raw() == {"env_vars": {}, "num_gpu_blocks_override":
                                  {"<1.0.3": 1, "default": 2},
                                  "chunked_prefill_config": {"max_num_batched_tokens": 512}}


def test_warmup_shape_is_two_fields():
    assert WarmupShape(64, 4).to_tuple() == (64, 4)
    assert WarmupShape.from_dict({"prompt_len": 64, "new_tokens": 20, "batch_size": 4}
                                 ) == WarmupShape(64, 4)
    with pytest.raises(ValueError, match="Missing key: 'batch_size'"):
        WarmupShape.from_dict({"prompt_len": 64})
    with pytest.raises(ValueError, match="must be valid integers"):
        WarmupShape.from_dict({"prompt_len": "x", "batch_size": 1})


def test_cb_entry_device_config_is_optional():
    assert ContinuousBatchingConfig.from_dict({"tp_size": 1, "max_model_len": 64,
                                               "max_num_seqs": 1}).device_config is None
    cb = ContinuousBatchingConfig.from_dict({"tp_size": 4, "max_model_len": 64,
                                             "max_num_seqs": 1,
                                             "device_config": {"env_vars": {"B": 2}}})
    assert cb.device_config.tp_size == 4 and cb.device_config.env_vars == {"B": 2}


def test_from_dict_round_trips_through_a_catalog_entry():
    config = ModelConfig.from_dict("org/enc", ENCODER)
    assert config.static_batching_configs == [StaticBatchingConfig(1, [WarmupShape(128, 8),
                                                                       WarmupShape(256, 2)])]
    entry = config.to_entry()
    assert (entry.name, entry.option, entry.architecture) == (
        "org/enc", "org/enc", {"model_type": "bert", "hidden_size": 384})
    assert entry.static_batching_configs == [{"tp_size": 1,
                                              "warmup_shapes": [[128, 8], [256, 2]]}]
    back = ModelConfig.from_entry(entry, {})
    assert back == config and not hasattr(back, "device_configs")


@pytest.mark.parametrize("data,message", [
    ({"architecture": {"model_type": "x"}},
     r"org/m: has no runtime entry: a model must have at least one runtime configuration"),
    ({"architecture": {"model_type": "x"}, "continuous_batching_configs": [
        {"tp_size": 1, "max_model_len": 64, "max_num_seqs": 1}] * 2},
     r"continuous_batching_configs\[1\]: Duplicate runtime configuration: duplicates entry "
     r"\[0\]"),
    # the same (prompt_len, batch_size) shapes in another order, new_tokens aside
    ({"architecture": {"model_type": "x"}, "static_batching_configs": [
        {"tp_size": 1, "warmup_shapes": [{"prompt_len": 64, "batch_size": 1},
                                         {"prompt_len": 128, "batch_size": 2}]},
        {"tp_size": 1, "warmup_shapes": [{"prompt_len": 128, "new_tokens": 5, "batch_size": 2},
                                         {"prompt_len": 64, "batch_size": 1}]}]},
     r"static_batching_configs\[1\]: Duplicate runtime configuration"),
    ({"architecture": {"model_type": "x"}, "continuous_batching_configs": [
        {"tp_size": 1, "max_model_len": 64, "max_num_seqs": 1,
         "device_config": {"env_vars": {"1BAD": "x"}}}]},
     r"continuous_batching_configs\[0\]\.device_config\.env_vars\.1BAD"),
])
def test_from_dict_refuses_with_the_catalog_rules(data, message):
    with pytest.raises(ValueError, match=message) as info:
        ModelConfig.from_dict("org/m", data)
    assert isinstance(info.value, SpyreHydraError) and "Fix:" in str(info.value)

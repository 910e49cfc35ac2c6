"""The plugin's configurator API (spyre_hydra.compat...model_configurator) over spyre_hydra's
configurator: its constructor, ConfigValue equality, the kept-value warning, and strict mode
from either variable as a RuntimeError."""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace

import pytest

from spyre_hydra.catalog.configurator import DefaultConfigurator, strict_from_env
from spyre_hydra.catalog.summary import ConfigValue
from spyre_hydra.compat.sendnn_inference.config.configurators.model_configurator import (
    ModelConfigurator)
from spyre_hydra.compat.sendnn_inference.config.model_config import DeviceConfig, ModelConfig
from spyre_hydra.errors import ConfigConflictError

MODEL = ModelConfig("org/m", architecture=None)


def vllm(tp=4, blocks=None):
    return SimpleNamespace(parallel_config=SimpleNamespace(world_size=tp),
                           cache_config=SimpleNamespace(num_gpu_blocks_override=blocks),
                           scheduler_config=SimpleNamespace(max_num_batched_tokens=None))


def test_config_value_compares_the_value_in_force():
    value = ConfigValue("1", "2")
    assert value == "2" and value != "1" and value == ConfigValue("1", "2")
    assert value != ConfigValue("2", "2") and value.was_overridden()


def test_plugin_constructor_is_a_default_configurator(unset_env):
    unset_env("CMP_A")
    dev = DeviceConfig(4, {"CMP_A": "x"}, {"<1.0.3": 5, "default": 7})
    configurator = ModelConfigurator(MODEL, dev)
    assert isinstance(configurator, DefaultConfigurator)
    assert configurator.model_config is MODEL and configurator.device_config is dev
    config = vllm()
    summary = configurator.configure(config)
    assert os.environ["CMP_A"] == "x" and summary.env_vars["CMP_A"] == "x"
    assert config.cache_config.num_gpu_blocks_override == 7  # no torch_sendnn: the default
    assert ModelConfigurator(MODEL).configure(vllm()).env_vars == {}


def test_every_spyre_hydra_configurator_counts_as_the_plugins():
    assert isinstance(DefaultConfigurator("org/m", {}), ModelConfigurator)
    assert not isinstance(object(), ModelConfigurator)


def test_no_settings_is_logged(caplog):
    caplog.set_level(logging.DEBUG, logger="spyre_hydra")
    ModelConfigurator(MODEL, None).configure(vllm(tp=1))
    assert "No device configuration for model 'org/m' with TP=1" in caplog.text


def test_a_kept_user_value_is_warned_about(monkeypatch, caplog):
    monkeypatch.setenv("CMP_B", "user")
    result = ModelConfigurator(MODEL, DeviceConfig(4, {"CMP_B": "model"})).set_env_var(
        "CMP_B", "model")
    assert result == "user" and os.environ["CMP_B"] == "user"
    assert "CMP_B was set to user, not using model default of model" in caplog.text


@pytest.mark.parametrize("name", ["SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG",
                                  "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"])
def test_strict_from_either_variable_is_a_runtime_error(monkeypatch, name):
    monkeypatch.setenv(name, "1")
    monkeypatch.setenv("CMP_C", "user")
    assert strict_from_env()
    configurator = ModelConfigurator(MODEL, DeviceConfig(4, {"CMP_C": "model"}))
    with pytest.raises(RuntimeError, match=r"CMP_C is set to 'user'.*strict mode: "
                       r"SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG=1 / "
                       r"SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG=1\)\. Fix: unset CMP_C") as info:
        configurator.set_env_var("CMP_C", "model")
    assert isinstance(info.value, ConfigConflictError)
    with pytest.raises(RuntimeError, match="SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG=1"):
        ModelConfigurator(MODEL, DeviceConfig(4, {}, 100)).configure(vllm(blocks=50))


def test_a_bad_plugin_strict_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG", "maybe")
    with pytest.raises(ConfigConflictError, match=r"SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG="
                                                  r"'maybe' is not a boolean.*Fix: export "
                                                  r"SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG=1"):
        strict_from_env()

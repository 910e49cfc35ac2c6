"""DefaultConfigurator: sets only what is unset, reports what it kept, strict refuses cleanly."""

from __future__ import annotations

import copy
import os

import pytest

from spyre_hydra.catalog.configurator import (
    ConfigValue,
    DefaultConfigurator,
    DeviceSettings,
    strict_from_env,
)
from spyre_hydra.errors import ConfigConflictError

ENV = {"VLLM_DT_MAX_BATCH_TKV_LIMIT": 131072, "FLEX_HDMA_P2PSIZE": 268435456,
       "FLEX_HDMA_COLLSIZE": 33554432}
SETTINGS = {4: DeviceSettings(ENV, 2080, None)}
CHUNKED = {4: DeviceSettings({}, None, 1024)}


def configurator(settings=SETTINGS, strict=False):
    return DefaultConfigurator("ibm-granite/granite-3.3-8b-instruct", settings, strict)


def _state(vllm):
    return copy.deepcopy(vars(vllm.cache_config)), copy.deepcopy(vars(vllm.scheduler_config))


def test_env_set_when_unset(h):
    env: dict[str, str] = {"UNRELATED": "x"}
    vllm = h.fake_vllm_config(tp=4)
    summary = configurator().configure(vllm, environ=env)
    assert env == {"UNRELATED": "x", **{k: str(v) for k, v in ENV.items()}}
    assert vllm.cache_config.num_gpu_blocks_override == 2080
    assert summary.conflicts() == []
    assert "⚠" not in summary.format_log_message()
    assert "num_gpu_blocks_override=2080 ✓" in summary.format_log_message()


def test_existing_different_env_value_is_kept_and_reported(h):
    env = {"FLEX_HDMA_P2PSIZE": "1024"}
    summary = configurator().configure(h.fake_vllm_config(tp=4), environ=env)
    assert env["FLEX_HDMA_P2PSIZE"] == "1024"
    assert env["FLEX_HDMA_COLLSIZE"] == "33554432"
    assert summary.conflicts() == ["FLEX_HDMA_P2PSIZE=1024 ⚠ (default: 268435456)"]
    assert "FLEX_HDMA_P2PSIZE=1024 ⚠ (default: 268435456)" in summary.format_log_message()


def test_existing_equal_env_value_is_no_conflict(h):
    env = {"FLEX_HDMA_P2PSIZE": "268435456"}
    summary = configurator().configure(h.fake_vllm_config(tp=4), environ=env)
    assert summary.conflicts() == []


def test_user_block_override_is_kept_and_reported(h):
    vllm = h.fake_vllm_config(tp=4, blocks=100)
    summary = configurator().configure(vllm, environ={})
    assert vllm.cache_config.num_gpu_blocks_override == 100
    assert summary.conflicts() == ["num_gpu_blocks_override=100 ⚠ (default: 2080)"]
    assert "⚠" in summary.format_log_message()


def test_real_os_environ_only_unset_keys(h, unset_env, monkeypatch):
    unset_env(*ENV)
    monkeypatch.setenv("FLEX_HDMA_COLLSIZE", "7")
    summary = configurator().configure(h.fake_vllm_config(tp=4))
    assert os.environ["FLEX_HDMA_COLLSIZE"] == "7"
    assert os.environ["FLEX_HDMA_P2PSIZE"] == "268435456"
    assert summary.conflicts() == ["FLEX_HDMA_COLLSIZE=7 ⚠ (default: 33554432)"]


def _strict_cases():
    return [
        pytest.param({"FLEX_HDMA_P2PSIZE": "1"}, None, "FLEX_HDMA_P2PSIZE=1", id="env"),
        pytest.param({}, 100, "num_gpu_blocks_override=100", id="blocks"),
    ]


@pytest.mark.parametrize("preset,blocks,named", _strict_cases())
def test_strict_param_raises_and_changes_nothing(h, preset, blocks, named):
    env = dict(preset)
    vllm = h.fake_vllm_config(tp=4, blocks=blocks)
    before = _state(vllm)
    with pytest.raises(ConfigConflictError, match=rf"strict mode.*{named} ⚠.*Fix:"):
        configurator(strict=True).configure(vllm, environ=env)
    assert env == preset
    assert _state(vllm) == before


@pytest.mark.parametrize("preset,blocks,named", _strict_cases())
def test_strict_env_var_raises_and_leaves_os_environ(h, unset_env, monkeypatch, preset, blocks,
                                                     named):
    unset_env(*ENV)
    for key, value in preset.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG", "1")
    vllm = h.fake_vllm_config(tp=4, blocks=blocks)
    before_env, before = dict(os.environ), _state(vllm)
    conf = DefaultConfigurator("m", SETTINGS)  # strict=None: read from the environment
    assert conf.strict is True
    with pytest.raises(ConfigConflictError, match=rf"{named} ⚠"):
        conf.configure(vllm)
    assert dict(os.environ) == before_env
    assert _state(vllm) == before


def test_strict_without_conflict_applies(h):
    env: dict[str, str] = {}
    configurator(strict=True).configure(h.fake_vllm_config(tp=4), environ=env)
    assert len(env) == 3


@pytest.mark.parametrize("value,strict", [("1", True), ("true", True), ("YES", True),
                                          ("on", True), ("0", False), ("", False),
                                          ("no", False)])
def test_strict_from_env(value, strict):
    assert strict_from_env({"SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG": value}) is strict
    assert strict_from_env({}) is False


def test_chunked_prefill_sets_batched_tokens(h):
    vllm = h.fake_vllm_config(tp=4)
    summary = configurator(CHUNKED).configure(vllm, environ={})
    assert vllm.scheduler_config.max_num_batched_tokens == 1024
    assert summary.conflicts() == []


def test_chunked_prefill_keeps_user_value(h):
    vllm = h.fake_vllm_config(tp=4, batched_tokens=512)
    summary = configurator(CHUNKED).configure(vllm, environ={})
    assert vllm.scheduler_config.max_num_batched_tokens == 512
    assert summary.conflicts() == ["max_num_batched_tokens=512 ⚠ (default: 1024)"]
    with pytest.raises(ConfigConflictError, match="max_num_batched_tokens=512"):
        configurator(CHUNKED, strict=True).configure(h.fake_vllm_config(tp=4, batched_tokens=512),
                                                     environ={})


def test_chunked_prefill_from_the_catalog(conf_copy, h):
    from spyre_hydra.catalog.registry import get_model_registry

    (conf_copy / "model" / "chunky.yaml").write_text(
        "defaults:\n  - family/granite_33_8b@_here_\n  - _self_\nhf_id: test/chunky\n"
        "architecture:\n  num_hidden_layers: 41\n"
        "device_configs:\n  tp4:\n    chunked_prefill_config:\n"
        "      max_num_batched_tokens: 2048\n")
    conf = get_model_registry(conf_copy).get_configurator("chunky", sendnn_version="1.0.3")
    vllm = h.fake_vllm_config(tp=4)
    conf.configure(vllm, environ={})
    assert vllm.scheduler_config.max_num_batched_tokens == 2048
    assert vllm.cache_config.num_gpu_blocks_override == 8192


def test_other_tp_has_no_settings(h):
    env: dict[str, str] = {}
    vllm = h.fake_vllm_config(tp=1)
    summary = configurator().configure(vllm, environ=env)
    assert env == {} and vllm.cache_config.num_gpu_blocks_override is None
    assert "no device-specific configs" in summary.format_log_message()


def test_preview_changes_nothing(h):
    env: dict[str, str] = {}
    vllm = h.fake_vllm_config(tp=4)
    summary = configurator().preview(vllm, env)
    assert env == {} and vllm.cache_config.num_gpu_blocks_override is None
    assert summary.num_blocks == ConfigValue(2080, 2080)


def test_failure_midway_rolls_back_env(h):
    class Frozen:
        def __setattr__(self, name, value):
            raise RuntimeError("read-only config")

    vllm = h.fake_vllm_config(tp=4)
    vllm.cache_config = Frozen()
    vllm.cache_config.__dict__["num_gpu_blocks_override"] = None
    env: dict[str, str] = {}
    with pytest.raises(RuntimeError):
        configurator().configure(vllm, environ=env)
    assert env == {}


def test_set_env_var(unset_env, monkeypatch):
    unset_env("SPYRE_TEST_A", "SPYRE_TEST_B")
    conf = configurator()
    assert conf.set_env_var("SPYRE_TEST_A", 5) == ConfigValue("5", "5")
    assert os.environ["SPYRE_TEST_A"] == "5"
    monkeypatch.setenv("SPYRE_TEST_B", "1")
    kept = conf.set_env_var("SPYRE_TEST_B", 2)
    assert kept.was_overridden() and os.environ["SPYRE_TEST_B"] == "1"
    with pytest.raises(ConfigConflictError, match="SPYRE_TEST_B"):
        configurator(strict=True).set_env_var("SPYRE_TEST_B", 2)
    assert os.environ["SPYRE_TEST_B"] == "1"

"""The registry's seed API over the shipped catalog: listing, lookup, configurators.

Matching on real HF configs is in test_matcher.py, catalog validation in test_catalog.py.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from spyre_hydra.catalog.registry import get_model_registry, reset_registries
from spyre_hydra.errors import UnknownModelError, UnsupportedRuntimeError
from spyre_hydra.io.hfconfig import as_object

CATALOG_IDS = {
    "BAAI/bge-reranker-large", "BAAI/bge-reranker-v2-m3", "intfloat/multilingual-e5-large",
    "intfloat/multilingual-e5-large-instruct", "ibm-granite/granite-4.1-30b",
    "ibm-granite/granite-4.1-8b-fp8", "ibm-granite/granite-4.2-8b",
    "ibm-granite/granite-4.2-8b-fp8", "ibm-granite/granite-4-8b-dense",
    "ibm-granite/granite-4-8b-dense-hybrid", "ibm-granite/granite-3.3-8b-instruct",
    "ibm-granite/granite-3.3-8b-instruct-FP8", "ibm-granite/granite-embedding-107m-multilingual",
    "ibm-granite/granite-embedding-125m-english",
    "ibm-granite/granite-embedding-278m-multilingual",
    "ibm-granite/granite-embedding-30m-english", "ibm-granite/swa-20b",
    "ibm-granite/granite-vision-3.3-2b", "meta-llama/Llama-3.1-8B-Instruct",
    "mistralai/Ministral-3-14B-Instruct-2512-BF16", "mistralai/Ministral-3-8B-Instruct-2512-BF16",
    "mistralai/Mistral-Small-3.2-24B-Instruct-2506", "sentence-transformers/all-roberta-large-v1",
}
CONF = Path(__file__).resolve().parents[1] / "conf"
# Locally built random-weight models (family: tiny) sit beside the 23 catalog models.
TINY = {yaml.safe_load(p.read_text())["hf_id"] for p in (CONF / "model").glob("*.yaml")
        if (yaml.safe_load(p.read_text()) or {}).get("family") == "tiny"}

TP4_ENV = {"VLLM_DT_MAX_BATCH_TKV_LIMIT": "131072", "FLEX_HDMA_P2PSIZE": "268435456",
           "FLEX_HDMA_COLLSIZE": "33554432"}


@pytest.fixture
def registry():
    return get_model_registry()


@pytest.fixture
def granite(h):
    return as_object(h.hf_config("ibm-granite/granite-3.3-8b-instruct"))


# -- listing and lookup -------------------------------------------------------------------
def test_registry_is_loaded_once_per_tree(registry, conf_copy):
    assert get_model_registry() is registry
    other = get_model_registry(conf_copy)
    assert other is not registry and get_model_registry(conf_copy) is other
    reset_registries()
    assert get_model_registry() is not registry


def test_list_models_returns_hf_ids(registry):
    models = registry.list_models()
    assert "spyre-hydra/tiny-granite" in TINY
    assert len(models) == len(set(models)) == len(CATALOG_IDS) + len(TINY) == 23 + len(TINY)
    assert set(models) == CATALOG_IDS | TINY


def test_get_model_config_by_hf_id_and_option(registry):
    by_id = registry.get_model_config("ibm-granite/granite-3.3-8b-instruct")
    assert registry.get_model_config("granite_8b") is by_id
    assert by_id.option == "granite_8b"
    assert by_id.architecture["vocab_size"] == 49159
    assert by_id.tp_sizes() == [1, 2, 4]
    assert by_id.modes() == ["cb", "static"]


@pytest.mark.parametrize("name,hint", [("granite_8bb", "granite_8b"),
                                       ("ibm-granite/granite-3.3-8b-instruc",
                                        "ibm-granite/granite-3.3-8b-instruct")])
def test_unknown_model_suggests(registry, name, hint):
    with pytest.raises(UnknownModelError, match=rf"{name!r} is not in the catalog\. "
                                                rf"Did you mean {hint!r}\?.*Fix:"):
        registry.get_model_config(name)


# -- configurators ------------------------------------------------------------------------
def test_get_configurator_applies_tp_settings(registry, h):
    configurator = registry.get_configurator("granite_8b", sendnn_version="1.0.2")
    env: dict[str, str] = {}
    vllm = h.fake_vllm_config(tp=4)
    summary = configurator.configure(vllm, environ=env)
    assert env == TP4_ENV
    assert vllm.cache_config.num_gpu_blocks_override == 2080
    assert summary.conflicts() == []
    env, vllm = {}, h.fake_vllm_config(tp=1)
    configurator.configure(vllm, environ=env)
    assert env == {} and vllm.cache_config.num_gpu_blocks_override is None


def test_get_configurator_with_os_environ(registry, h, unset_env):
    unset_env(*TP4_ENV)
    registry.get_configurator("granite_8b", sendnn_version="1.0.3").configure(
        h.fake_vllm_config(tp=4))
    assert {k: os.environ[k] for k in TP4_ENV} == TP4_ENV  # undone by unset_env afterwards


@pytest.mark.parametrize("version,blocks", [("1.0.2", 2080), ("1.0.3", 8192),
                                            ("not installed", 8192), ("none", 8192)])
def test_sendnn_version_selects_blocks(registry, version, blocks):
    configurator = registry.get_configurator("granite_8b", sendnn_version=version)
    assert configurator.get_device_config(4).num_gpu_blocks_override == blocks
    fixed = registry.get_configurator("granite41_30b", sendnn_version=version)
    assert fixed.get_device_config(4).num_gpu_blocks_override == 2080


def test_default_sendnn_version_comes_from_metadata(registry, monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "version", lambda d: "1.0.2")
    assert registry.get_configurator("granite_8b").get_device_config(4) \
        .num_gpu_blocks_override == 2080


def test_runtime_cb_match_brings_that_tp_only(registry, granite):
    vllm = _vllm(granite, 4, 32768, 32)
    configurator = registry.get_configurator_for_runtime(vllm, sendnn_version="1.0.2")
    assert configurator is not None
    assert set(configurator.device_configs) == {4}
    settings = configurator.get_device_config(4)
    assert dict(settings.env_vars) == {k: int(v) for k, v in TP4_ENV.items()}
    assert settings.num_gpu_blocks_override == 2080


def _vllm(hf, tp, mml, mns):
    return SimpleNamespace(model_config=SimpleNamespace(hf_config=hf, max_model_len=mml),
                           parallel_config=SimpleNamespace(world_size=tp),
                           scheduler_config=SimpleNamespace(max_num_seqs=mns,
                                                            max_num_batched_tokens=None),
                           cache_config=SimpleNamespace(num_gpu_blocks_override=None))


def test_runtime_cb_at_tp_without_settings(registry, granite):
    configurator = registry.get_configurator_for_runtime(_vllm(granite, 1, 8192, 4))
    assert configurator is not None and configurator.device_configs == {}


@pytest.mark.parametrize("tp,mml,mns", [(4, 32768, 16), (4, 16384, 32), (2, 32768, 32),
                                        (1, 3072, 4), (1, 8192, 16)])
def test_runtime_cb_needs_equal_values(registry, granite, tp, mml, mns):
    assert registry.get_configurator_for_runtime(_vllm(granite, tp, mml, mns)) is None
    with pytest.raises(UnsupportedRuntimeError,
                       match=rf"granite_8b .*does not support tp{tp} with max_model_len={mml} "
                             rf"max_num_seqs={mns}\. Supported at tp{tp}:"):
        registry.get_configurator_for_runtime(_vllm(granite, tp, mml, mns), strict=True)


def test_runtime_strict_from_env(registry, granite, monkeypatch):
    monkeypatch.setenv("SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG", "1")
    with pytest.raises(UnsupportedRuntimeError):
        registry.get_configurator_for_runtime(_vllm(granite, 4, 1024, 1))
    assert registry.get_configurator_for_runtime(_vllm(granite, 4, 1024, 1), strict=False) \
        is None


@pytest.mark.parametrize("shapes", [
    [[7168, 1024, 4]],
    [(6144, 2048, 1)],
    [{"prompt_len": 7168, "new_tokens": 1024, "batch_size": 4}],
])
def test_static_match_brings_no_device_settings(registry, granite, shapes):
    vllm = _vllm(granite, 4, None, None)
    configurator = registry.get_configurator_for_runtime(vllm, warmup_shapes=shapes)
    assert configurator is not None and configurator.device_configs == {}
    env: dict[str, str] = {}
    before = copy.deepcopy(vllm)
    configurator.configure(vllm, environ=env)
    assert env == {} and vars(vllm.cache_config) == vars(before.cache_config)


def test_static_shapes_subset_of_one_entry_any_order(registry, h):
    tiny = SimpleNamespace(model_type="granite", num_hidden_layers=2, hidden_size=128,
                           num_attention_heads=2)
    vllm = _vllm(tiny, 1, None, None)
    ok = [[128, 16, 4], {"prompt_len": 64, "new_tokens": 8, "batch_size": 1}]
    assert registry.get_configurator_for_runtime(vllm, warmup_shapes=ok) is not None
    assert registry.get_configurator_for_runtime(vllm, warmup_shapes=[[128, 16, 8]]) is None
    assert registry.get_configurator_for_runtime(_vllm(tiny, 2, None, None),
                                                 warmup_shapes=[[64, 8, 1]]) is None


def test_static_new_tokens_optional(registry, h):
    embed = as_object(h.hf_config("ibm-granite/granite-embedding-125m-english"))
    vllm = _vllm(embed, 1, None, None)
    assert registry.get_configurator_for_runtime(
        vllm, warmup_shapes=[{"prompt_len": 512, "batch_size": 64}]) is not None


def test_static_shapes_across_two_entries_do_not_match(registry, granite):
    shapes = [[6144, 2048, 1], [7168, 1024, 4]]  # each in its own tp4 entry
    vllm = _vllm(granite, 4, None, None)
    assert registry.get_configurator_for_runtime(vllm, warmup_shapes=shapes) is None
    with pytest.raises(UnsupportedRuntimeError, match=r"warmup_shapes=\[\[6144, 2048, 1\]"):
        registry.get_configurator_for_runtime(vllm, warmup_shapes=shapes, strict=True)


def test_static_ignores_cb_entries(registry, h):
    # granite41_30b has only a CB entry (tp4, 32768, 32): no shapes can match it.
    hf = SimpleNamespace(model_type="granite", num_hidden_layers=64,
                         max_position_embeddings=131072, hidden_size=4096, vocab_size=100352,
                         num_key_value_heads=8, num_attention_heads=32)
    vllm = _vllm(hf, 4, 32768, 32)
    assert registry.get_configurator_for_runtime(vllm) is not None
    assert registry.get_configurator_for_runtime(vllm, warmup_shapes=[[32768, 0, 32]]) is None


def test_unknown_model_runtime(registry, h):
    dummy = as_object(h.hf_config("ibm-granite/tiny-granite-swa"))
    vllm = _vllm(dummy, 1, 2048, 4)
    assert registry.get_configurator_for_runtime(vllm) is None
    with pytest.raises(UnknownModelError, match=r"no catalog model matches.*Fix:"):
        registry.get_configurator_for_runtime(vllm, strict=True)

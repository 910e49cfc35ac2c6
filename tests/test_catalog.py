"""The fast catalog loader equals Hydra's compose, and its cache is keyed by conf content."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from spyre_hydra.catalog import loader as catalog
from spyre_hydra.catalog.registry import ModelConfigRegistry
from spyre_hydra.conftree.compose import compose_launch
from spyre_hydra.conftree.tree import ConfTree
from spyre_hydra.errors import ConfigValidationError

CONF = Path(__file__).resolve().parents[1] / "conf"
MODEL_OPTIONS = sorted(p.stem for p in (CONF / "model").glob("*.yaml") if p.stem != "auto")


@pytest.fixture(scope="module")
def hydra_models() -> dict[str, dict]:
    """option -> cfg.model as composed by Hydra itself."""
    out = {}
    for option in MODEL_OPTIONS:
        cfg = compose_launch([f"model={option}"])
        out[option] = OmegaConf.to_container(cfg.model, resolve=False, throw_on_missing=False)
    return out


@pytest.fixture(scope="module")
def fast_models() -> dict[str, dict]:
    return catalog.load_entries(ConfTree.at(None))


def test_loader_lists_every_model_file():
    entries = catalog.load_entries(ConfTree.at(None))
    assert sorted(entries) == MODEL_OPTIONS
    assert "auto" not in entries  # a placeholder, not a catalog model


@pytest.mark.parametrize("option", MODEL_OPTIONS)
def test_fast_loader_equals_hydra_compose(option, hydra_models, fast_models):
    entries = fast_models
    assert entries[option]["model"] == hydra_models[option]
    files = entries[option]["files"]
    assert files[-1] == str(CONF / "model" / f"{option}.yaml")
    assert files[0] == str(CONF / "model" / "family" / "base.yaml")


def test_cached_catalog_equals_hydra_compose(fresh_cache, hydra_models):
    catalog.load_catalog()
    cached = catalog.load_catalog()  # from the JSON file: checks the round trip too
    assert list((fresh_cache / "catalog").glob("*.json"))
    assert {o: e["model"] for o, e in cached.items()} == hydra_models


def test_unusual_defaults_fall_back_to_hydra(conf_copy, fresh_cache):
    # The dict form of a defaults entry is not the fast path's `x@_here_`; Hydra composes it.
    (conf_copy / "model" / "odd_granite.yaml").write_text(
        "defaults:\n  - family@_here_: granite_33_8b\n  - _self_\n"
        "hf_id: test/odd-granite\n")
    entries = catalog.load_catalog(ConfTree.at(conf_copy), use_cache=False)
    cfg = compose_launch(["model=odd_granite"], conf_dir=conf_copy)
    expected = OmegaConf.to_container(cfg.model, resolve=False, throw_on_missing=False)
    assert entries["odd_granite"]["model"] == expected
    assert expected["architecture"]["vocab_size"] == 49159


def _counting(monkeypatch, stub: bool = False):
    calls = []
    real = catalog.load_entries

    def counted(roots):
        calls.append(roots)
        if not stub:
            return real(roots)
        # one empty entry per model file: a cache holding other options would not verify
        return {o: {"model": {}, "files": []} for o in roots.model_files()}

    monkeypatch.setattr(catalog, "load_entries", counted)
    return calls


def test_second_load_hits_the_cache(fresh_cache, monkeypatch):
    first = catalog.load_catalog()

    def fail(_roots):
        raise AssertionError("load_entries called although the cache is valid")

    monkeypatch.setattr(catalog, "load_entries", fail)
    assert catalog.load_catalog() == first


def test_use_cache_false_and_no_cache_env_bypass_the_cache(fresh_cache, monkeypatch):
    catalog.load_catalog()
    calls = _counting(monkeypatch)
    catalog.load_catalog(use_cache=False)
    monkeypatch.setenv("SPYRE_HYDRA_NO_CACHE", "1")
    catalog.load_catalog()
    assert len(calls) == 2


def test_editing_any_conf_file_invalidates_the_cache(conf_copy, fresh_cache, monkeypatch):
    catalog.load_catalog(ConfTree.at(conf_copy))
    calls = _counting(monkeypatch, stub=True)  # only the number of misses matters here
    # an edited config.yaml or hydra/ file is refused in a user conf dir (conftree/trust.py)
    files = sorted(p for p in conf_copy.rglob("*.yaml")
                   if p.name != "config.yaml" and "hydra" not in p.relative_to(conf_copy).parts)
    assert len(files) > 40
    for path in files:
        seen = len(calls)
        path.write_text(path.read_text() + "\n# edited\n")
        catalog.load_catalog(ConfTree.at(conf_copy))
        assert len(calls) == seen + 1, f"editing {path.relative_to(conf_copy)} kept the cache"
        catalog.load_catalog(ConfTree.at(conf_copy))  # ...and the new content is cached in turn
        assert len(calls) == seen + 1


def test_edited_value_is_seen_after_invalidation(conf_copy, fresh_cache):
    before = catalog.load_catalog(ConfTree.at(conf_copy))
    assert before["granite_8b"]["model"]["device_configs"]["tp4"]["num_gpu_blocks_override"] == {
        "<1.0.3": 2080, "default": 8192}
    family = conf_copy / "model" / "family" / "granite_33_8b.yaml"
    family.write_text(family.read_text().replace("default: 8192", "default: 4096"))
    after = catalog.load_catalog(ConfTree.at(conf_copy))
    assert after["granite_8b"]["model"]["device_configs"]["tp4"]["num_gpu_blocks_override"][
        "default"] == 4096
    assert after["granite_8b_fp8"]["model"]["device_configs"]["tp4"]["num_gpu_blocks_override"][
        "default"] == 4096


def test_new_model_file_invalidates_the_cache(conf_copy, fresh_cache):
    assert "extra_granite" not in catalog.load_catalog(ConfTree.at(conf_copy))
    (conf_copy / "model" / "extra_granite.yaml").write_text(
        "defaults:\n  - family/granite_33_8b@_here_\n  - _self_\nhf_id: test/extra\n")
    assert catalog.load_catalog(ConfTree.at(conf_copy))["extra_granite"]["model"]["hf_id"] == "test/extra"


def test_corrupt_cache_file_is_ignored(fresh_cache):
    first = catalog.load_catalog()
    for path in (fresh_cache / "catalog").glob("*.json"):
        path.write_text("{not json")
    assert catalog.load_catalog() == first


# -- validation: one error listing every problem, with file and key ------------------------
BROKEN = """\
defaults:
  - family/base@_here_
  - _self_
hf_id: test/broken
family: broken
colour: blue                 # unknown key
priority: high               # wrong type
architecture:
  model_type: granite
  hidden_size: null          # None in a pattern
continuous_batching_configs: # duplicate CB entries
  - {tp_size: 1, max_model_len: 2048, max_num_seqs: 4}
  - {tp_size: 1, max_model_len: 2048, max_num_seqs: 4}
static_batching_configs:     # duplicate static entries, shapes in another order
  - {tp_size: 1, warmup_shapes: [[64, 8, 1], [128, 8, 2]]}
  - {tp_size: 1, warmup_shapes: [[128, 8, 2], [64, 8, 1]]}
"""
NO_RUNTIME = """\
defaults:
  - family/base@_here_
  - _self_
hf_id: test/no-runtime
family: broken
architecture:
  model_type: granite
"""
BROKEN_KEYS = {  # key -> a fragment of its message
    "broken.colour": "unknown key",
    "broken.priority": "'high' is not a valid int",
    "broken.architecture.hidden_size": "is None",
    "broken.continuous_batching_configs[1]": "duplicates entry [0]",
    "broken.static_batching_configs[1]": "duplicates entry [0]",
    "no_runtime": "has no runtime entry",
}


def _problems(conf_dir):
    with pytest.raises(ConfigValidationError) as info:
        ModelConfigRegistry(conf_dir, use_cache=False)
    return info.value


def _check(error, expected, conf_dir):
    by_key = {p.key: p for p in error.problems}
    for key, fragment in expected.items():
        assert key in by_key, f"{key} not reported; got {sorted(by_key)}"
        assert fragment in by_key[key].message
        option = key.split(".")[0]
        assert str(conf_dir / "model" / f"{option}.yaml") in by_key[key].source
        assert key in str(error) and str(conf_dir / "model" / f"{option}.yaml") in str(error)
    assert len(error.problems) == len(expected), str(error)


def test_validation_lists_every_problem_at_once(conf_copy):
    (conf_copy / "model" / "broken.yaml").write_text(BROKEN)
    (conf_copy / "model" / "no_runtime.yaml").write_text(NO_RUNTIME)
    _check(_problems(conf_copy), BROKEN_KEYS, conf_copy)


def test_validation_lists_every_catalog_rule_problem(conf_copy):
    typed_ok = "\n".join(line for line in BROKEN.splitlines()
                         if not line.startswith(("colour", "priority")))
    (conf_copy / "model" / "broken.yaml").write_text(typed_ok)
    (conf_copy / "model" / "no_runtime.yaml").write_text(NO_RUNTIME)
    expected = {k: v for k, v in BROKEN_KEYS.items()
                if k not in ("broken.colour", "broken.priority")}
    _check(_problems(conf_copy), expected, conf_copy)


def test_validation_lists_every_type_problem(conf_copy):
    (conf_copy / "model" / "broken.yaml").write_text(BROKEN)
    (conf_copy / "model" / "no_runtime.yaml").write_text(NO_RUNTIME.replace(
        "family: broken", "family: broken\nplatforms: x86_64\nhf_idd: typo"))
    error = _problems(conf_copy)
    keys = {p.key for p in error.problems}
    assert {"broken.colour", "broken.priority", "no_runtime.platforms",
            "no_runtime.hf_idd"} <= keys
    assert "Did you mean 'hf_id'?" in str(error)


def test_validation_reports_duplicate_hf_id(conf_copy):
    (conf_copy / "model" / "granite_8b_again.yaml").write_text(
        "defaults:\n  - family/granite_33_8b@_here_\n  - _self_\n"
        "hf_id: ibm-granite/granite-3.3-8b-instruct\n")
    error = _problems(conf_copy)
    assert [p.key for p in error.problems] == ["granite_8b_again.hf_id"]
    assert "also the hf_id of granite_8b" in str(error)


def test_validation_reports_unknown_device_and_bad_blocks(conf_copy):
    (conf_copy / "model" / "bad_device.yaml").write_text(
        "defaults:\n  - family/granite_33_8b@_here_\n  - _self_\nhf_id: test/bad-device\n"
        "device_configs:\n  tp3:\n    num_gpu_blocks_override: 10\n"
        "  tp4:\n    num_gpu_blocks_override: {'lt 1.0.3': 2080, default: 8192}\n")
    message = str(_problems(conf_copy))
    assert "bad_device.device_configs.tp3" in message and "no device option 'tp3'" in message
    assert "'lt 1.0.3' is not a PEP 440 specifier" in message


def test_shipped_catalog_is_valid():
    registry = ModelConfigRegistry(use_cache=False)
    assert sorted(registry.list_options()) == MODEL_OPTIONS

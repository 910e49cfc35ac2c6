"""A warm load believes the catalog cache's record that its entries passed the schema and
catalog-rule checks only while the record matches those entries, the device names and the
check code; a catalog with an invalid entry fails the same way warm as cold."""

from __future__ import annotations

import json

import pytest

from spyre_hydra.catalog import admission, check_record
from spyre_hydra.catalog import loader as catalog
from spyre_hydra.catalog.registry import ModelConfigRegistry
from spyre_hydra.errors import ConfigValidationError

BROKEN = """\
defaults:
  - family/base@_here_
  - _self_
hf_id: test/broken
family: broken
colour: blue
architecture:
  model_type: granite
  hidden_size: null
"""


def _cache_data(fresh_cache) -> tuple:
    (path,) = (fresh_cache / "catalog").glob("*.json")
    return path, json.loads(path.read_text())


def _snapshot(registry: ModelConfigRegistry):
    return (registry.list_options(), registry.list_models(),
            [registry.get_model_config(o) for o in registry.list_options()],
            registry.diagnostics)


def _no_checks(monkeypatch):
    def fail(*_args, **_kwargs):
        raise AssertionError("schema or catalog-rule check ran on a warm load")

    monkeypatch.setattr(admission, "check_dataclass", fail)
    monkeypatch.setattr(admission, "check_model", fail)


def _count(monkeypatch) -> dict:
    """Counts of entry rebuilds (load_entries) and schema checks (check_dataclass calls)."""
    calls = {"built": 0, "checked": 0}
    load_entries, check_dataclass = catalog.load_entries, admission.check_dataclass

    def built(tree):
        calls["built"] += 1
        return load_entries(tree)

    def checked(*args):
        calls["checked"] += 1
        return check_dataclass(*args)

    monkeypatch.setattr(catalog, "load_entries", built)
    monkeypatch.setattr(admission, "check_dataclass", checked)
    return calls


def test_warm_load_skips_the_recorded_checks(fresh_cache, monkeypatch):
    truth = _snapshot(ModelConfigRegistry(use_cache=False))
    assert _snapshot(ModelConfigRegistry()) == truth  # cold: checked, and recorded
    record = _cache_data(fresh_cache)[1]["checked"]
    assert record["devices"] == list(ModelConfigRegistry().devices.values())
    _no_checks(monkeypatch)
    assert _snapshot(ModelConfigRegistry()) == truth


def test_cache_without_a_record_is_checked_then_recorded(fresh_cache, monkeypatch):
    entries = catalog.load_catalog()  # no device names: no checks, no record
    path, data = _cache_data(fresh_cache)
    assert "checked" not in data
    calls = _count(monkeypatch)
    ModelConfigRegistry()
    assert calls == {"built": 0, "checked": len(entries)}
    assert json.loads(path.read_text())["checked"]["devices"]
    ModelConfigRegistry()
    assert calls == {"built": 0, "checked": len(entries)}


def test_invalid_catalog_fails_the_same_warm_as_cold(conf_copy, fresh_cache, monkeypatch):
    (conf_copy / "model" / "broken.yaml").write_text(BROKEN)
    errors = []
    for use_cache in (False, True, True, True):  # uncached, cold, warm, warm
        if len(errors) == 2:
            calls = _count(monkeypatch)
        with pytest.raises(ConfigValidationError, match=r"broken\.colour") as info:
            ModelConfigRegistry(conf_copy, use_cache=use_cache)
        errors.append(info.value)
    assert calls["built"] == 0 and calls["checked"] > 0  # warm: from the cache, checked
    assert len({str(e) for e in errors}) == 1
    assert len({tuple(e.problems) for e in errors}) == 1
    assert {p.key for p in errors[0].problems} == {
        "broken", "broken.colour", "broken.architecture.hidden_size"}
    assert all(str(conf_copy / "model" / "broken.yaml") in p.source
               for p in errors[0].problems)
    assert "checked" not in _cache_data(fresh_cache)[1]  # a failing catalog is never recorded


def test_configurator_check_stays_live(tmp_path, fresh_cache, monkeypatch):
    conf = tmp_path / "conf"
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "custom_tiny.yaml").write_text(
        "defaults:\n  - family/base@_here_\n  - _self_\nhf_id: user/custom-tiny\nfamily: tiny\n"
        "architecture: {model_type: granite, num_hidden_layers: 3, hidden_size: 128}\n"
        "continuous_batching_configs:\n  - {tp_size: 1, max_model_len: 512, max_num_seqs: 4}\n"
        "configurator: {_target_: spyre_no_such_pkg.Configurator}\n")
    monkeypatch.setenv("SPYRE_HYDRA_ALLOW_CUSTOM_CODE", "1")
    with pytest.raises(ConfigValidationError, match="custom_tiny.configurator") as cold:
        ModelConfigRegistry(conf)
    assert "checked" in _cache_data(fresh_cache)[1]  # schema and rules passed
    _no_checks(monkeypatch)
    with pytest.raises(ConfigValidationError, match="custom_tiny.configurator") as warm:
        ModelConfigRegistry(conf)
    assert str(warm.value) == str(cold.value)


def _tamper(data: dict, how: str) -> None:
    record, entries = data["checked"], data["entries"]
    first = next(iter(entries))
    if how == "record_digest":
        record["digest"] = "0" * 64
    elif how == "record_not_dict":
        data["checked"] = ["passed"]
    elif how == "resealed_invalid_entry":
        # an invalid entry resealed as an attacker could, the old record kept
        entries[first]["model"]["architecture"]["hidden_size"] = None
        entries[first]["digest"] = catalog._digest(first, entries[first])
    elif how == "entry_edited":
        entries[first]["model"]["colour"] = "blue"
    elif how == "record_missing_digest":
        del record["digest"]
    else:  # pragma: no cover
        raise ValueError(how)


@pytest.mark.parametrize("how", ["record_digest", "record_not_dict",
                                 "resealed_invalid_entry", "entry_edited",
                                 "record_missing_digest"])
def test_tampered_record_is_not_believed(fresh_cache, monkeypatch, how):
    truth = _snapshot(ModelConfigRegistry())
    path, data = _cache_data(fresh_cache)
    _tamper(data, how)
    path.write_text(json.dumps(data))
    calls = _count(monkeypatch)
    assert _snapshot(ModelConfigRegistry()) == truth
    assert calls == {"built": 1, "checked": len(truth[0])}  # rebuilt and checked again
    rewritten = json.loads(path.read_text())
    assert check_record.record_state(rewritten["checked"], rewritten["entries"],
                                     tuple(ModelConfigRegistry().devices.values())) == "passed"


@pytest.mark.parametrize("how", ["other_devices", "other_code"])
def test_stale_record_is_checked_again(fresh_cache, monkeypatch, how):
    truth = _snapshot(ModelConfigRegistry())
    path, data = _cache_data(fresh_cache)
    if how == "other_devices":  # a record made for other device names, resealed
        data["checked"] = check_record.make_record(data["entries"], ["tp1", "tp99"])
        path.write_text(json.dumps(data))
    else:  # an edited check module (same version: a development checkout)
        monkeypatch.setattr(check_record, "checks_code", lambda: "f" * 64)
    calls = _count(monkeypatch)
    assert _snapshot(ModelConfigRegistry()) == truth
    assert calls == {"built": 0, "checked": len(truth[0])}  # entries kept, checks run
    ModelConfigRegistry()
    assert calls == {"built": 0, "checked": len(truth[0])}  # ...and recorded again

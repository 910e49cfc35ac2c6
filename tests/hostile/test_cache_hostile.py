"""A catalog cache entry is trusted only while it matches the conf files it came from."""

from __future__ import annotations

import json
import os

import pytest
from hostile_helpers import run_tool

from spyre_hydra.catalog import loader as catalog
from spyre_hydra.catalog.registry import ModelConfigRegistry


def _cache_file(fresh_cache):
    (path,) = (fresh_cache / "catalog").glob("*.json")
    return path


def _edit(entries: dict, how: str) -> None:
    options = list(entries)
    first, second = entries[options[0]], entries[options[1]]
    if how == "edit_value":
        first["model"]["hf_id"] = "evil/model"
    elif how == "edit_priority":
        first["model"]["priority"] = 10**6
    elif how == "edit_env":
        first["model"].setdefault("device_configs", {})["tp1"] = {"env_vars": {"X": "$(id)"}}
    elif how == "empty_runtime":  # well-formed, but IndexError-shaped for every consumer
        first["model"]["continuous_batching_configs"] = []
        first["model"]["static_batching_configs"] = []
    elif how == "swap_entries":
        entries[options[0]], entries[options[1]] = second, first
    elif how == "drop_entry":
        del entries[options[0]]
    elif how == "add_entry":
        entries["zz_fake"] = json.loads(json.dumps(first))
    elif how == "reorder":
        entries[options[0]] = entries.pop(options[0])
    elif how == "wrong_sha":
        name = next(iter(first["sha256"]))
        first["sha256"][name] = "0" * 64
    elif how == "resealed_with_wrong_sha":  # even with a digest recomputed by the attacker
        name = next(iter(first["sha256"]))
        first["sha256"][name] = "0" * 64
        first["digest"] = catalog._digest(options[0], first)
    elif how == "files_changed":
        first["files"] = first["files"][-1:]
    elif how == "model_not_dict":
        first["model"] = ["x"]
    elif how == "no_digest":
        del first["digest"]
    else:  # pragma: no cover
        raise ValueError(how)


EDITS = ["edit_value", "edit_priority", "edit_env", "empty_runtime", "swap_entries",
         "drop_entry", "add_entry", "reorder", "wrong_sha", "resealed_with_wrong_sha",
         "files_changed", "model_not_dict", "no_digest"]


@pytest.mark.parametrize("how", EDITS)
def test_tampered_entry_is_rebuilt(fresh_cache, capsys, how):
    truth = catalog.load_catalog()
    listing = run_tool(capsys, "list", "--format", "json")[1]
    path = _cache_file(fresh_cache)
    data = json.loads(path.read_text())
    _edit(data["entries"], how)
    path.write_text(json.dumps(data))
    assert catalog.load_catalog() == truth
    assert run_tool(capsys, "list", "--format", "json")[1] == listing
    registry = ModelConfigRegistry()
    assert registry.list_options() == list(truth)
    assert json.loads(path.read_text())["entries"] == truth  # rewritten with the truth


@pytest.mark.parametrize("how", ["not_json", "wrong_format", "entries_list", "empty", "null"])
def test_malformed_cache_is_rebuilt(fresh_cache, how):
    truth = catalog.load_catalog()
    path = _cache_file(fresh_cache)
    data = json.loads(path.read_text())
    text = {"not_json": "{nope", "wrong_format": json.dumps({**data, "format": 1}),
            "entries_list": json.dumps({**data, "entries": []}), "empty": "",
            "null": "null"}[how]
    path.write_text(text)
    assert catalog.load_catalog() == truth


@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "directory", "huge", "symlink_to_copy"])
def test_odd_cache_file_is_neither_read_nor_replaced(fresh_cache, kind):
    truth = catalog.load_catalog()
    path = _cache_file(fresh_cache)
    copy = path.with_name("copy.json")
    os.replace(path, copy)
    if kind == "dev_zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "huge":
        with open(path, "wb") as fh:
            fh.truncate((10 << 20) + 1)
    else:
        path.symlink_to(copy)
    kind_before = os.lstat(path).st_mode
    assert catalog.load_catalog() == truth
    assert os.lstat(path).st_mode == kind_before  # refused by the writer, left as it was


def test_cache_entry_records_file_hashes(fresh_cache):
    catalog.load_catalog()
    entries = json.loads(_cache_file(fresh_cache).read_text())["entries"]
    for item in entries.values():
        assert set(item["sha256"]) == set(item["files"]) and all(
            len(h) == 64 for h in item["sha256"].values())


def test_warm_load_does_not_rebuild(fresh_cache, monkeypatch):
    first = catalog.load_catalog()

    def fail(_roots):
        raise AssertionError("a verified cache was rebuilt")

    monkeypatch.setattr(catalog, "load_entries", fail)
    assert catalog.load_catalog() == first

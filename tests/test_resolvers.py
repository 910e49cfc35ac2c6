"""Resolvers and version-dependent values: PEP 440 selection, and no torch_sendnn import."""

from __future__ import annotations

import importlib.abc
import importlib.metadata
import sys

import pytest
from omegaconf import OmegaConf

from spyre_hydra.conftree import resolvers, versions
from spyre_hydra.conftree.resolvers import register_resolvers
from spyre_hydra.conftree.versions import (
    installed_sendnn_version,
    parse_version,
    select_block_override,
)
from spyre_hydra.errors import VersionError

MAPPING = {"<1.0.3": 2080, "default": 8192}


def _registered(name):
    from omegaconf.basecontainer import BaseContainer

    return BaseContainer._resolvers[name]


def test_register_resolvers_is_idempotent():
    register_resolvers()
    first = {name: _registered(name) for name in resolvers.RESOLVERS}
    register_resolvers()  # a second call must neither raise nor replace anything
    assert {name: _registered(name) for name in resolvers.RESOLVERS} == first
    assert set(first) == {"spyre.blocks", "spyre.cb_default", "spyre.static_default",
                          "spyre.sendnn_version", "spyre.device_setting",
                          "spyre.modes_help", "spyre.backends_help", "spyre.options_help"}


def test_blocks_resolver_through_interpolation():
    register_resolvers()
    cfg = OmegaConf.create({"m": MAPPING, "old": "1.0.2", "new": "1.0.3", "n": 7,
                            "a": "${spyre.blocks:${m},${old}}",
                            "b": "${spyre.blocks:${m},${new}}",
                            "c": "${spyre.blocks:${n},${new}}",
                            "d": "${spyre.blocks:null,${new}}"})
    assert (cfg.a, cfg.b, cfg.c, cfg.d) == (2080, 8192, 7, None)


def test_cb_and_static_default_resolvers():
    cb = [{"tp_size": 1, "max_model_len": 3072, "max_num_seqs": 16},
          {"tp_size": 1, "max_model_len": 8192, "max_num_seqs": 4},
          {"tp_size": 4, "max_model_len": 32768, "max_num_seqs": 32}]
    static = [{"tp_size": 4, "warmup_shapes": [[6144, 2048, 1]]}]
    assert resolvers.cb_default(OmegaConf.create(cb), 1, "max_model_len") == 3072  # first wins
    assert resolvers.cb_default(cb, 4, "max_num_seqs") == 32
    assert resolvers.cb_default(cb, 2, "max_num_seqs") is None
    assert resolvers.static_default(OmegaConf.create(static), 4) == [[6144, 2048, 1]]
    assert resolvers.static_default(static, 1) is None


@pytest.mark.parametrize("blocks", [2080, 1])
@pytest.mark.parametrize("version", ["1.0.2", "1.0.3", None, "garbage"])
def test_int_override_passes_through(blocks, version):
    assert select_block_override(blocks, version) == blocks


def test_none_override_stays_none():
    assert select_block_override(None, "1.0.3") is None


@pytest.mark.parametrize("version,expected", [
    ("1.0.2", 2080), ("1.0.0", 2080), ("0.9", 2080), ("1.0.3", 8192), ("1.0.3.post1", 8192),
    ("1.1.0", 8192), ("2.0", 8192), ("1.0.2rc1", 2080), ("1.0.3rc1", 8192)])
def test_specifier_mapping(version, expected):
    assert select_block_override(MAPPING, version) == expected


def test_several_specifiers_and_default():
    table = {">=1.0,<1.0.3": 2080, ">=1.0.3,<1.1": 4096, "default": 8192}
    assert select_block_override(table, "1.0.1") == 2080
    assert select_block_override(table, "1.0.5") == 4096
    assert select_block_override(table, "1.2") == 8192
    assert select_block_override(table, "0.5") == 8192


@pytest.mark.parametrize("version", ["1.0.2", "1.0.3", "not installed"])
def test_legacy_key_means_lt_1_0_3(version):
    legacy = {"torch_sendnn_lt_1_0_3": 2080, "default": 8192}
    assert select_block_override(legacy, version) == select_block_override(MAPPING, version)
    assert versions.LEGACY_SPECIFIERS["torch_sendnn_lt_1_0_3"] == "<1.0.3"


@pytest.mark.parametrize("version", ["not installed", None, "none", "0.0.0", "None", ""])
def test_no_version_takes_default(version):
    assert parse_version(version) is None
    assert select_block_override(MAPPING, version) == 8192


@pytest.mark.parametrize("version", ["abc", "1.0.x", "latest", "1..2"])
def test_malformed_version_raises_naming_it(version):
    with pytest.raises(VersionError, match=f"{version!r}.*Fix:"):
        select_block_override(MAPPING, version)
    with pytest.raises(VersionError, match=f"{version!r}"):
        parse_version(version)


@pytest.mark.parametrize("key", ["lt 1.0.3", "torch_sendnn_lt_1_0_4", "=<1.0.3", "1.0.3"])
def test_malformed_specifier_raises_naming_it(key):
    with pytest.raises(VersionError, match=f"{key!r} is not a PEP 440 specifier"):
        select_block_override({key: 2080, "default": 8192}, "1.0.2")


def test_overlapping_specifiers_raise():
    with pytest.raises(VersionError, match=r"matches both '<1\.0\.3' and '<1\.1'.*Fix: make "
                       r"the specifiers disjoint"):
        select_block_override({"<1.0.3": 2080, "<1.1": 4096, "default": 8192}, "1.0.2")


@pytest.mark.parametrize("version", ["1.0.3", "not installed", None])
def test_missing_default_raises(version):
    with pytest.raises(VersionError, match=r"no 'default' key.*Fix: add 'default: <blocks>'"):
        select_block_override({"<1.0.3": 2080}, version)


def test_non_positive_block_values_raise():
    with pytest.raises(VersionError, match=r"default: 0 must be a positive int"):
        select_block_override({"<1.0.3": 2080, "default": 0}, "1.0.3")


class _RefuseSendnn(importlib.abc.MetaPathFinder):
    """Fails any attempt to import torch_sendnn, and remembers it."""

    def __init__(self):
        self.attempts = []

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch_sendnn":
            self.attempts.append(name)
            raise AssertionError(f"{name} must never be imported")
        return None


@pytest.fixture
def refuse_sendnn(monkeypatch):
    finder = _RefuseSendnn()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    for name in [m for m in sys.modules if m.split(".")[0] == "torch_sendnn"]:
        monkeypatch.delitem(sys.modules, name)
    return finder


def test_refuse_hook_works(refuse_sendnn):
    with pytest.raises(AssertionError, match="must never be imported"):
        __import__("torch_sendnn")
    assert refuse_sendnn.attempts == ["torch_sendnn"]


def test_installed_version_from_metadata(monkeypatch, refuse_sendnn):
    asked = []

    def version(dist):
        asked.append(dist)
        if dist == "torch_sendnn":
            return "1.0.2"
        raise importlib.metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert installed_sendnn_version() == "1.0.2"
    assert asked == ["torch_sendnn"]
    assert refuse_sendnn.attempts == []


def test_installed_version_other_dist_name(monkeypatch, refuse_sendnn):
    def version(dist):
        if dist == "torch-sendnn":
            return "1.0.3"
        raise importlib.metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert installed_sendnn_version() == "1.0.3"


def test_not_installed(monkeypatch, refuse_sendnn):
    def version(dist):
        raise importlib.metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert installed_sendnn_version() == "not installed"
    assert select_block_override(MAPPING, installed_sendnn_version()) == 8192
    assert refuse_sendnn.attempts == []


def test_auto_option_resolves_from_metadata(monkeypatch, refuse_sendnn):
    from spyre_hydra.conftree.compose import compose_launch

    def version(dist):
        if dist == "torch_sendnn":
            return "1.0.2"
        raise importlib.metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(importlib.metadata, "version", version)
    cfg = compose_launch(["model=granite_8b", "device=tp4", "sendnn_version=auto"])
    assert cfg.sendnn_version.version == "1.0.2"
    assert cfg.selected.num_gpu_blocks_override == 2080
    assert refuse_sendnn.attempts == []

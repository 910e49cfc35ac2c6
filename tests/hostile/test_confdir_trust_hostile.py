"""Conf dirs other users can change, symlinks in conf dirs, unbounded walks (issue 18 item 2)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import spyre_hydra
from spyre_hydra.conftree import trust, walk
from spyre_hydra.errors import ConfigValidationError

MODEL = """\
defaults:
  - family/base@_here_
  - _self_
hf_id: user/trust-tiny
family: tiny
path: builtin:tiny_granite
architecture: {model_type: granite, num_hidden_layers: 3, hidden_size: 80}
continuous_batching_configs:
  - {tp_size: 1, max_model_len: 512, max_num_seqs: 4}
"""
STRICT = "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"


@pytest.fixture(autouse=True)
def no_opt_ins(monkeypatch):
    """A developer's own SPYRE_HYDRA_ALLOW_CUSTOM_CODE / strict export must not leak in."""
    for key in ("SPYRE_HYDRA_ALLOW_CUSTOM_CODE", "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def conf(tmp_path) -> Path:
    root = tmp_path / "conf"
    (root / "model").mkdir(parents=True)
    (root / "model" / "mine.yaml").write_text(MODEL)
    for path in (root, root / "model"):
        path.chmod(0o755)
    (root / "model" / "mine.yaml").chmod(0o644)
    return root


def plan(conf, *extra):
    return spyre_hydra.compose(["model=mine", *extra], conf_dir=conf)


def test_own_conf_dir_is_quiet(conf, caplog):
    with caplog.at_level(logging.WARNING, logger="spyre_hydra.trust"):
        assert plan(conf).option == "mine"
    assert caplog.records == []


@pytest.mark.parametrize("target,mode,word", [
    ("", 0o777, "world-writable"),
    ("model", 0o775, "group-writable"),
    ("model/mine.yaml", 0o666, "world-writable"),
    ("model/mine.yaml", 0o664, "group-writable"),
])
def test_writable_by_others_warns_and_strict_refuses(conf, caplog, monkeypatch, target, mode,
                                                     word):
    path = conf / target if target else conf
    path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="spyre_hydra.trust"):
        assert plan(conf).option == "mine"
    assert f"{path} is {word}" in caplog.text and "Fix: chmod -R go-w" in caplog.text
    with pytest.raises(ConfigValidationError, match=rf"(?s)untrusted conf dir \(strict mode\).*"
                       rf"other users can change it: .*{path} is {word}.*Fix: chmod -R go-w"):
        plan(conf, "strict=true")
    monkeypatch.setenv(STRICT, "1")
    with pytest.raises(ConfigValidationError, match=rf"{path} is {word}"):
        spyre_hydra.get_model_registry(conf)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
def test_a_file_owned_by_another_user_is_refused_in_strict_mode(conf, monkeypatch, caplog):
    path = conf / "model" / "mine.yaml"
    os.chown(path, 4242, -1)
    with caplog.at_level(logging.WARNING, logger="spyre_hydra.trust"):
        plan(conf)
    assert f"{path} is owned by uid 4242, not by you (uid 0) or root" in caplog.text
    monkeypatch.setenv(STRICT, "1")
    with pytest.raises(ConfigValidationError, match=r"owned by uid 4242"):
        plan(conf)


def test_strict_refusal_through_spyre_launch(h, conf, tmp_path):
    conf.chmod(0o777)
    proc = h.run_cli(["--config-dir", str(conf), "model=mine", "mode=plan"], tmp_path,
                     **{STRICT: "1"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{conf} is world-writable" in proc.stderr and "Fix:" in proc.stderr


def test_a_conf_file_linking_out_of_the_conf_dir_is_refused_unread(conf, tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("".join(f"root{i}:$6$SECRETHASH{i}:19000:0:99999:7:::\n" for i in range(9)))
    (conf / "model" / "leak.yaml").symlink_to(secret)
    for call in (lambda: plan(conf), lambda: spyre_hydra.get_model_registry(conf)):
        with pytest.raises(ConfigValidationError, match=r"leak\.yaml: is a symlink leaving "
                           r"the conf dir; it is not read\. Fix: copy the file into") as info:
            call()
        assert "SECRETHASH" not in str(info.value) and "root0" not in str(info.value)


@pytest.mark.skipif(not Path("/etc/shadow").exists(), reason="no /etc/shadow here")
def test_a_link_to_etc_shadow_echoes_nothing(conf):
    (conf / "model" / "shadow.yaml").symlink_to("/etc/shadow")
    with pytest.raises(ConfigValidationError) as info:
        spyre_hydra.get_model_registry(conf)
    text = str(info.value)
    assert "symlink leaving the conf dir" in text and "root:" not in text


def test_a_link_inside_the_conf_dir_is_fine(conf):
    (conf / "model" / "alias.yaml").symlink_to(conf / "model" / "mine.yaml")
    trust.check_user_root(conf)


def test_directory_symlinks_are_refused_in_a_user_root_and_never_walked(conf, tmp_path):
    (conf / "model" / "family").mkdir()
    (conf / "model" / "family" / "x").symlink_to("/")
    with pytest.raises(ConfigValidationError, match=r"family/x: is a symlink to a directory"):
        plan(conf)
    found = trust.walk_yaml(conf)  # the catalog walk: `x -> /` is not entered
    assert found == [str(conf / "model" / "mine.yaml")]
    from spyre_hydra.conftree.tree import ConfTree

    assert list(ConfTree((conf,)).file_hashes()) == found


@pytest.mark.parametrize("where", ["/", "/proc", "/proc/self", "/sys"])
def test_filesystem_root_and_kernel_views_are_not_conf_dirs(where):
    with pytest.raises(ConfigValidationError, match=r"is not a conf tree \(the filesystem root "
                       r"or a kernel view such as /proc\)\..*Fix: pass the dir holding model/"):
        spyre_hydra.get_model_registry(where)


def test_a_walk_stops_at_its_bound(conf, monkeypatch):
    monkeypatch.setattr(walk, "MAX_ENTRIES", 10)
    for i in range(12):
        (conf / "model" / f"m{i}.txt").write_text("x")
    with pytest.raises(ConfigValidationError, match=r"holds more than 10 entries; a conf tree "
                       r"holds a few hundred\..*Fix: pass the conf tree itself"):
        trust.check_user_root(conf)


def test_hidden_dirs_are_not_walked(conf):
    git = conf / ".git" / "objects"
    git.mkdir(parents=True)
    (git / "a.yaml").write_text("# @package _global_\nhydra: {}\n")
    trust.check_user_root(conf)  # not read: nothing may name a file under a dot dir
    (conf / "model" / "mine.yaml").write_text(MODEL.replace("  - _self_",
                                                            "  - /.git/objects/a\n  - _self_"))
    with pytest.raises(ConfigValidationError, match=r"names a file in a hidden or parent dir"):
        trust.check_user_root(conf)


def test_excerpt_is_short_and_escaped():
    assert trust.excerpt("\x1b[31m" + "a" * 100) == repr("\x1b[31m" + "a" * 35) + "..."


def test_remembered_verdicts_never_hide_an_edit(conf, tmp_path, monkeypatch):
    """A file found clean is skipped next time only while its stat signature holds."""
    cache = tmp_path / "cache"
    trust.check_user_root(conf, cache=cache)
    assert len(list((cache / "trust").glob("*.json"))) == 1
    monkeypatch.setattr(trust, "_memo", {})  # a new process
    calls = []
    real = trust.file_problems
    monkeypatch.setattr(trust, "file_problems", lambda *a: calls.append(a) or real(*a))
    trust.check_user_root(conf, cache=cache)
    assert calls == []  # remembered: not parsed again
    (conf / "model" / "mine.yaml").write_text("# @package _global_\n" + MODEL)
    monkeypatch.setattr(trust, "_memo", {})
    with pytest.raises(ConfigValidationError, match=r"mine\.yaml: # @package '_global_'"):
        trust.check_user_root(conf, cache=cache)


def test_the_rules_know_every_config_group():
    from spyre_hydra.conftree import confine, roots

    assert confine.GROUPS == roots.GROUPS

"""Caches are trusted by who owns them and who may write them, never by a digest (issue 18,
item 1): a cache dir (or a dir on the way) other users may write is not used; the cached
file the Spyre plugin reads is verified on every use; symlinks below the cache dir are
never followed on write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hostile_helpers import changed, clean_error, run_tool, snapshot

from spyre_hydra.catalog import loader
from spyre_hydra.catalog.registry import get_model_registry, reset_registries
from spyre_hydra.io import cachedir
from spyre_hydra.io.cachedir import CacheTrustError, unsafe_dir_reason
from spyre_hydra.legacy.exporter import legacy_text
from spyre_hydra.legacy.plugin_file import plugin_catalog_file

NOBODY = 65534


@pytest.fixture(autouse=True)
def _warn_again(monkeypatch):
    monkeypatch.setattr(cachedir, "_warned", set())  # "once per process", per test here


def _forged_cache(trusted: Path, planted: Path) -> Path:
    """A forged catalog entry in ``planted``, its digests recomputed as an attacker can."""
    loader.load_catalog()  # the genuine entry, in the trusted cache
    (genuine,) = (trusted / "catalog").glob("*.json")
    data = json.loads(genuine.read_text())
    item = data["entries"]["granite_8b"]
    item["model"]["device_configs"]["tp4"]["env_vars"]["LD_PRELOAD"] = "/tmp/evil.so"
    item["digest"] = loader._digest("granite_8b", item)
    forged = planted / "catalog" / genuine.name
    forged.parent.mkdir(parents=True)
    forged.write_text(json.dumps(data))
    return forged


def _tp4_env(registry) -> dict:
    return dict(registry.get_model_config("granite_8b").device_configs["tp4"]["env_vars"])


def test_world_writable_cache_is_not_used_a_forged_entry_is_not_trusted(
        fresh_cache, tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    _forged_cache(fresh_cache, shared)
    shared.chmod(0o777)
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(shared))
    reset_registries()
    before = snapshot(shared)
    assert "LD_PRELOAD" not in _tp4_env(get_model_registry())
    err = capsys.readouterr().err
    assert f"cache dir {shared}: {shared} is writable by every user (mode 777)" in err
    assert "running without the cache" in err and "Fix: " in err
    reset_registries()
    get_model_registry()
    assert capsys.readouterr().err == ""  # warned once per process
    assert changed(before, snapshot(shared)) == []  # nothing read from or written there


def test_strict_refuses_a_shared_cache(fresh_cache, tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(shared))
    monkeypatch.setenv("SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG", "1")
    with pytest.raises(CacheTrustError, match=r"writable by every user .*Strict mode refuses "
                                              r"it\. Fix: make it yours"):
        loader.load_catalog()
    code, _, err = run_tool(capsys, "list")
    clean_error(code, err, str(shared), "Strict mode refuses it")


@pytest.mark.parametrize("mode, trusted", [(0o777, False), (0o775, False), (0o1777, True),
                                           (0o755, True)])
def test_a_parent_dir_writable_by_others(tmp_path, mode, trusted):
    parent = tmp_path / "parent"
    (parent / "cache").mkdir(parents=True)
    parent.chmod(mode)
    (parent / "cache").chmod(0o755)
    if mode == 0o775:  # a group with other users in it (not this user's private group)
        if os.geteuid() != 0:
            pytest.skip("needs root to give a dir to another group")
        os.chown(parent, -1, NOBODY)
    why = unsafe_dir_reason(parent / "cache")
    if trusted:  # sticky (like /tmp): others cannot rename what is ours
        assert why is None
    else:
        import grp

        group = grp.getgrgid(NOBODY).gr_name
        assert why == f"{parent} is writable by {'every user' if mode & 2 else 'group ' + group}" \
                      f" (mode {mode:o})"
    assert unsafe_dir_reason(parent / "cache" / "not" / "yet") == why  # created later by us


def test_the_cache_dir_itself_may_not_be_sticky_world_writable(tmp_path):
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)  # others may create catalog/ there before we do
    assert unsafe_dir_reason(sticky) == f"{sticky} is writable by every user (mode 1777)"


def test_symlink_on_the_way_owned_by_another_user(tmp_path, monkeypatch, capsys):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert unsafe_dir_reason(link / "cache") is None  # our own symlink is fine
    if os.geteuid() != 0:
        pytest.skip("needs root to give a symlink to another user")
    os.lchown(link, NOBODY, NOBODY)
    assert unsafe_dir_reason(link / "cache") == (
        f"{link} is a symlink owned by nobody, not by you or root")
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(link / "cache"))
    loader.load_catalog()
    assert "is a symlink owned by nobody" in capsys.readouterr().err
    assert list(real.iterdir()) == []


def test_a_cache_dir_owned_by_another_user(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a dir to another user")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, NOBODY, NOBODY)
    assert unsafe_dir_reason(theirs / "spyre_hydra") == (
        f"{theirs} is owned by nobody, not by you or root")


def test_symlink_below_the_cache_is_never_followed_on_write(fresh_cache, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    fresh_cache.mkdir()
    (fresh_cache / "catalog").symlink_to(elsewhere)
    entries = loader.load_catalog()  # loads; the cache write is refused, not redirected
    assert "granite_8b" in entries
    assert list(elsewhere.iterdir()) == []


def test_a_cache_file_others_may_write_is_not_read(fresh_cache, monkeypatch):
    loader.load_catalog()
    (cached,) = (fresh_cache / "catalog").glob("*.json")
    cached.chmod(0o666)
    calls = []
    real = loader.load_entries
    monkeypatch.setattr(loader, "load_entries", lambda roots: calls.append(1) or real(roots))
    loader.load_catalog()
    assert calls == [1]  # rebuilt, not read
    assert cached.stat().st_mode & 0o022 == 0  # and replaced by one of ours


# ---- the file the Spyre plugin reads: model_configs/<key>.yaml ---------------------------

def _plugin_file(fresh_cache) -> tuple[Path, str]:
    path = plugin_catalog_file("1.0.3")
    return path, legacy_text(None, "1.0.3")


@pytest.mark.parametrize("damage", ["tampered", "truncated", "empty", "other_catalog"])
def test_plugin_file_damage_is_rewritten(fresh_cache, damage):
    path, expected = _plugin_file(fresh_cache)
    assert path.parent == fresh_cache / "model_configs" and path.read_text() == expected
    text = {"tampered": expected.replace("max_num_seqs: 32", "max_num_seqs: 4096"),
            "truncated": expected[: len(expected) // 2], "empty": "",
            "other_catalog": "models: {}\n"}[damage]
    path.write_text(text)
    assert plugin_catalog_file("1.0.3") == path
    assert path.read_text() == expected


def test_plugin_file_symlink_to_passwd_is_not_used(fresh_cache, tmp_path, capsys):
    path, expected = _plugin_file(fresh_cache)
    victim = tmp_path / "passwd"
    victim.write_text("root:x:0:0:root:/root:/bin/bash\n")
    path.unlink()
    path.symlink_to(victim)
    got = plugin_catalog_file("1.0.3")
    assert got != path and not got.is_symlink() and got.read_text() == expected
    assert victim.read_text() == "root:x:0:0:root:/root:/bin/bash\n"  # never written through
    assert os.readlink(path) == str(victim)  # and the user's symlink left as it was


def test_plugin_file_in_a_shared_cache_is_a_private_copy(fresh_cache, tmp_path, monkeypatch,
                                                         capsys):
    shared = tmp_path / "shared"
    planted = shared / "model_configs"
    planted.mkdir(parents=True)
    shared.chmod(0o777)
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(shared))
    for name in ("a.yaml", "b.yaml"):  # whatever name the key has, nothing there is read
        (planted / name).write_text("models: {}\n")
    got = plugin_catalog_file("1.0.3")
    assert shared not in got.parents and got.read_text() == legacy_text(None, "1.0.3")
    assert (got.parent.stat().st_mode & 0o777) == 0o700
    assert sorted(p.name for p in planted.iterdir()) == ["a.yaml", "b.yaml"]
    assert "running without the cache" in capsys.readouterr().err


def test_the_private_dir_of_an_untrusted_cache_is_one_per_process():
    first = cachedir.private_dir("review2-test")
    (first / "kept").write_text("x")
    assert cachedir.private_dir("review2-test") == first  # what the first call put is there


@pytest.mark.slow
def test_a_builtin_tiny_model_is_built_where_an_untrusted_cache_sends_it(tmp_path, monkeypatch,
                                                                         capsys):
    """Built in a child process: the child used to make its own private dir (removed when it
    exited), so mode=config with a world-writable cache failed with 'model.path ... does not
    exist'."""
    from spyre_hydra.engine.launchenv import _builtin_checkpoint
    from spyre_hydra.engine.tiny_model import is_valid

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(shared))
    target = _builtin_checkpoint("builtin:tiny_granite")
    assert is_valid(target, "granite") and not target.is_relative_to(shared)
    assert list(shared.iterdir()) == []
    assert "writable by every user" in capsys.readouterr().err

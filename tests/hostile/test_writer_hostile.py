"""The one writer against whatever already sits at an output path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hostile_helpers import KINDS, changed, make_kind, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spyre_hydra.io.cache_write import write_cache
from spyre_hydra.io.writer import (
    MANIFEST,
    OutputError,
    forget,
    read_manifest,
    write_files,
    write_text,
)

FIX = {  # what each refusal says
    "symlink_file": "is a symlink", "symlink_dir": "is a symlink",
    "dangling_symlink": "is a symlink", "symlink_loop": "is a symlink",
    "directory": "is a directory", "fifo": "is a fifo", "device": "is a device",
    "socket": "is a socket", "foreign_file": "spyre-hydra did not write it",
}


@pytest.fixture
def area(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    return out, victim


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("kind", KINDS)
def test_single_write_refuses_what_it_did_not_write(area, kind, force):
    out, victim = area
    target = out / "file.yaml"
    make_kind(target, kind, victim)
    before = snapshot(out.parent)
    with pytest.raises(OutputError, match=f"cannot write {target}: .*{FIX[kind]}.*Fix:"):
        write_text(target, "new\n", force=force)
    assert changed(before, snapshot(out.parent)) == []
    if force:
        with pytest.raises(OutputError, match="Fix:") as info:
            write_text(target, "new\n", force=True)
        assert "--force to replace" not in str(info.value)  # --force would not help


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("kind", KINDS)
def test_bundle_with_one_bad_target_writes_nothing(area, kind, force):
    out, victim = area
    write_text(out / "old.yaml", "old\n")  # an own file the bundle would replace
    bad = out / "sub" / "bad.yaml"
    bad.parent.mkdir()
    make_kind(bad, kind, victim)
    before = snapshot(out.parent)
    files = {out / "a.yaml": "a", out / "old.yaml": "changed", bad: "b", out / "new" / "c": "c"}
    with pytest.raises(OutputError, match=f"refused to write 1 of 4 files; nothing was written"
                                          f":\n  - {bad}: .*{FIX[kind]}"):
        write_files(files, force=force)
    assert changed(before, snapshot(out.parent)) == []


def test_missing_own_edited_and_force(area):
    out, _ = area
    target = out / "env.sh"
    write_text(target, "one\n", mode=0o755)
    assert oct(target.stat().st_mode & 0o777) == "0o755"
    assert read_manifest(out)["env.sh"]
    write_text(target, "two\n")  # own, unchanged: replaced
    assert target.read_text() == "two\n"
    target.write_text("hand edit\n")
    with pytest.raises(OutputError, match="edited since spyre-hydra wrote it. Fix: pass --force"):
        write_text(target, "three\n")
    assert target.read_text() == "hand edit\n"
    write_text(target, "three\n", force=True)
    assert target.read_text() == "three\n"
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("link", ["same", "hardlink", "own_written"])
def test_a_source_is_never_replaced(area, link, force):
    out, _ = area
    src = out / "model_configs.yaml"
    if link == "own_written":  # even a file from our own manifest, once it is the input
        write_text(src, "models: {}\n")
    else:
        src.write_text("models: {}\n")
    target = src if link != "hardlink" else out / "alias.yaml"
    if link == "hardlink":
        os.link(src, target)
    before = snapshot(out)
    with pytest.raises(OutputError, match="it is the input being read. Fix:"):
        write_text(target, "x", force=force, sources=[src])
    assert changed(before, snapshot(out)) == []


@pytest.mark.parametrize("manifest", ["symlink", "directory", "garbage", "fake_entry"])
def test_manifest_cannot_be_forged_into_permission(area, manifest):
    out, victim = area
    (out / "user.txt").write_text("mine\n")
    path = out / MANIFEST
    if manifest == "symlink":
        path.symlink_to(victim)
    elif manifest == "directory":
        path.mkdir()
    elif manifest == "garbage":
        path.write_text("{not json")
    else:  # a manifest that names the file with the wrong hash: an "edited" own file
        path.write_text(json.dumps({"files": {"user.txt": "0" * 64}}))
    before = snapshot(out.parent)
    with pytest.raises(OutputError, match="Fix:"):
        write_text(out / "user.txt", "x")
    assert changed(before, snapshot(out.parent)) == []


@pytest.mark.parametrize("parent", ["file", "fifo"])
def test_parent_that_is_not_a_directory(area, parent):
    out, victim = area
    make_kind(out / "p", {"file": "foreign_file", "fifo": "fifo"}[parent], victim)
    before = snapshot(out)
    with pytest.raises(OutputError, match=r"cannot write .*p/x\.yaml: .*Fix:"):
        write_text(out / "p" / "x.yaml", "x")
    assert changed(before, snapshot(out)) == []


def test_forget_removes_only_own_files(area):
    out, _ = area
    write_text(out / "a.yaml", "a")
    (out / "b.yaml").write_text("foreign")
    with pytest.raises(OutputError, match="b.yaml: it exists and spyre-hydra did not write"):
        forget([out / "a.yaml", out / "b.yaml"])
    assert (out / "a.yaml").exists()
    forget([out / "a.yaml"])
    assert not (out / "a.yaml").exists() and "a.yaml" not in read_manifest(out)


@pytest.mark.parametrize("kind", ["symlink_file", "directory", "fifo", "device"])
def test_cache_write_never_replaces_odd_files(area, kind):
    out, victim = area
    make_kind(out / "c.json", kind, victim)
    before = snapshot(out.parent)
    with pytest.raises(OutputError, match="cache file .*c.json.*Fix:"):
        write_cache(out / "c.json", "{}")
    assert changed(before, snapshot(out.parent)) == []


def test_permission_denied_as_nobody(shared_tmp, hz):
    locked = shared_tmp / "root_only"
    locked.mkdir(mode=0o755)
    status, message = hz.as_nobody(lambda: write_text(locked / "x.yaml", "x"))
    assert status == "raised" and "OutputError" in message, message
    assert "Permission denied" in message and "Fix:" in message and str(locked) in message
    assert list(locked.iterdir()) == []


# -- random file kinds at random places of a bundle --------------------------------------------
NAMES = st.sampled_from(["a.yaml", "b.sh", "c.json", "sub/d.yaml", "sub/e.yaml"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(NAMES, st.sampled_from([None, "own", "edited", *KINDS]), min_size=1,
                       max_size=5), st.booleans())
def test_random_kinds_at_bundle_targets(tmp_path_factory, layout, force):
    root = tmp_path_factory.mktemp("bundle")
    victim = root / "victim"
    victim.write_text("v")
    out = root / "out"
    for rel, kind in layout.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind in ("own", "edited"):
            write_text(path, "first")
            if kind == "edited":
                path.write_text("edited by hand")
        elif kind:
            make_kind(path, kind, victim)
    before = snapshot(root)
    files = {out / rel: f"content of {rel}" for rel in layout}
    allowed = all(k in (None, "own") or (k == "edited" and force) for k in layout.values())
    if allowed:
        write_files(files, force=force)
        assert all(Path(p).read_text() == text for p, text in files.items())
        assert set(changed(before, snapshot(root))) <= {
            str((out / rel).relative_to(root)) for rel in layout} | {
            str((p.parent / MANIFEST).relative_to(root)) for p in files} | {
            str(p.parent.relative_to(root)) for p in files}
    else:
        with pytest.raises(OutputError, match="Fix:"):
            write_files(files, force=force)
        assert changed(before, snapshot(root)) == []


def test_a_directory_named_like_the_manifest_is_never_created(tmp_path):
    """export-serve --out DIR/.spyre_hydra_manifest.json made that directory, and every later
    write into DIR then failed ('is a directory, not spyre-hydra's manifest')."""
    from spyre_hydra.io.writer import MANIFEST, OutputError, write_files

    with pytest.raises(OutputError, match=rf"the directory .*/{MANIFEST} would be created with "
                                          r"the name of the writer's own record .* Fix: choose "
                                          r"another directory name"):
        write_files({tmp_path / MANIFEST / "bundle.json": "{}"})
    assert list(tmp_path.iterdir()) == []
    write_files({tmp_path / "legacy.yaml": "x: 1\n"})  # the dir stays writable
    assert (tmp_path / "legacy.yaml").read_text() == "x: 1\n"

"""Bounded input: alias bombs, huge files, devices, fifos, directories, symlink loops, binary
and unreadable files as a legacy source, a conf file, or any text input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hostile_helpers import changed, clean_error, run_tool, snapshot

from spyre_hydra.io.reading import InputError, load_yaml, read_text_bounded

LAUGHS = "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
                 for p, c in zip("abcdefgh", "bcdefghi"))
BOMBS = {
    "list_bomb": "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + LAUGHS,
    "map_bomb": "a: &a {x: 1, y: 2, z: 3}\n" + "".join(
        f"{c}: &{c} {{{', '.join(f'k{i}: *{p}' for i in range(9))}}}\n"
        for p, c in zip("abcdefgh", "bcdefghi")),
    "merge_bomb": "a: &a {x: [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n" + "".join(
        f"{c}: &{c} {{<<: *{p}, {', '.join(f'k{i}: *{p}' for i in range(9))}}}\n"
        for p, c in zip("abcdefgh", "bcdefghi")),
    "recursive_alias": "a: &a [1, *a]\n",
}
WHY = {"list_bomb": "alias bomb", "map_bomb": "alias bomb", "merge_bomb": "alias bomb",
       "recursive_alias": "recursive alias", "huge": "over the", "dev_zero": "character device",
       "fifo": "fifo", "directory": "directory", "symlink_loop": "symlink loop",
       "binary_nul": "binary", "latin1": "not UTF-8", "missing": "does not exist"}


def make_input(folder: Path, kind: str, name: str = "src.yaml") -> Path:
    path = folder / name
    if kind in BOMBS:
        path.write_text(BOMBS[kind])
    elif kind == "huge":  # sparse: 10 MB + 1 byte without writing them
        with open(path, "wb") as fh:
            fh.truncate((10 << 20) + 1)
    elif kind == "dev_zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "symlink_loop":
        path.symlink_to(path)
    elif kind == "binary_nul":
        path.write_bytes(b"models:\n  x: \0\0\0\n")
    elif kind == "latin1":
        path.write_bytes("models:\n  caf\xe9: 1\n".encode("latin-1"))
    elif kind != "missing":  # pragma: no cover
        raise ValueError(kind)
    return path


@pytest.mark.parametrize("kind", list(WHY))
def test_legacy_source(tmp_path, capsys, kind):
    src = make_input(tmp_path, kind)
    before = snapshot(tmp_path)
    code, _, err = run_tool(capsys, "import-legacy", src, "--out", tmp_path / "out")
    clean_error(code, err, src, WHY[kind], "nothing was written")
    assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("where", ["model/bad.yaml", "model/family/granite_33_8b.yaml"])
@pytest.mark.parametrize("kind", [k for k in WHY if k != "missing"])
def test_conf_file_read_by_the_catalog(conf_copy, capsys, kind, where):
    (conf_copy / where).unlink(missing_ok=True)
    path = make_input(conf_copy / Path(where).parent, kind, Path(where).name)
    before = snapshot(conf_copy)
    code, _, err = run_tool(capsys, "list", "--config-dir", conf_copy)
    # a link to /dev/zero leaves the conf dir: refused unread (conftree/trust.py)
    clean_error(code, err, path, "symlink leaving the conf dir" if kind == "dev_zero" else
                WHY[kind])
    assert changed(before, snapshot(conf_copy)) == []


@pytest.mark.parametrize("kind", ["list_bomb", "merge_bomb", "dev_zero", "fifo", "binary_nul"])
def test_conf_file_anywhere_stops_spyre_launch(tmp_path, h, kind):
    conf = tmp_path / "conf"
    (conf / "runtime").mkdir(parents=True)
    path = make_input(conf / "runtime", kind, "bad.yaml")
    before = snapshot(tmp_path)
    proc = h.run_cli(["--config-dir", str(conf), "model=granite_8b", "mode=plan"], tmp_path)
    clean_error(proc.returncode, proc.stderr, path, "symlink leaving the conf dir"
                if kind == "dev_zero" else WHY[kind])
    assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("kind", list(WHY))
def test_read_text_bounded_and_load_yaml(tmp_path, kind):
    path = make_input(tmp_path, kind)
    reader = load_yaml if kind in BOMBS else read_text_bounded
    with pytest.raises(InputError, match=f"{path}: .*{WHY[kind]}.*Fix: "):
        reader(path)


def test_size_limit_is_exact(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("x" * 100)
    assert read_text_bounded(path, limit=100) == "x" * 100
    path.write_text("x" * 101)
    with pytest.raises(InputError, match="101 bytes, over the 100-byte limit"):
        read_text_bounded(path, limit=100)


def test_proc_file_that_lies_about_its_size_is_capped():
    with pytest.raises(InputError, match="more than the 64-byte limit"):
        read_text_bounded("/proc/self/maps", limit=64)


def test_real_catalogs_fit_the_caps():
    ref = Path("/work/shared/reference")
    files = sorted(ref.rglob("*.yaml")) + sorted(Path(__file__).parents[1].glob(
        "data/legacy/*.yaml"))
    assert files
    for path in files:
        assert load_yaml(path) is not None


def test_unreadable_as_nobody(shared_tmp, hz):
    secret = shared_tmp / "private.yaml"
    secret.write_text("models: {}\n")
    secret.chmod(0o600)
    status, message = hz.as_nobody(lambda: read_text_bounded(secret, what="legacy catalog"))
    assert status == "raised" and "not readable (permission denied)" in message, message
    assert str(secret) in message and "Fix:" in message

    def import_it():
        from spyre_hydra.legacy.importer import import_legacy

        return import_legacy(secret, shared_tmp / "out")
    status, message = hz.as_nobody(import_it)
    assert status == "raised" and "LegacyFormatError" in message and str(secret) in message
    assert not (shared_tmp / "out").exists()

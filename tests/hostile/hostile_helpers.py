"""Helpers for hostile-user tests (imported by conftest.py and the test modules): tree snapshots, odd file kinds, a clean-error check, and
running a function as an unprivileged user (root ignores file permissions)."""

from __future__ import annotations

import hashlib
import os
import pickle
import socket
import stat
from pathlib import Path

import pytest

#: Kinds of thing an output path can already be, besides absent or a file we wrote.
KINDS = ("symlink_file", "symlink_dir", "dangling_symlink", "symlink_loop", "directory",
         "fifo", "device", "socket", "foreign_file")
NOBODY = 65534


def conf_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    """A user conf dir under tmp_path holding `files` (relative path -> text)."""
    root = tmp_path / "conf"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def make_kind(path: Path, kind: str, other: Path) -> None:
    """Create ``kind`` at ``path``; ``other`` is a victim file a symlink may point at."""
    if kind == "symlink_file":
        path.symlink_to(other)
    elif kind == "symlink_dir":
        path.symlink_to(other.parent)
    elif kind == "dangling_symlink":
        path.symlink_to(path.parent / "nowhere")
    elif kind == "symlink_loop":
        path.symlink_to(path)
    elif kind == "directory":
        path.mkdir()
        (path / "inside.txt").write_text("mine\n")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    elif kind == "foreign_file":
        path.write_text("the user's own file\n")
    else:  # pragma: no cover
        raise ValueError(kind)


def snapshot(root: Path) -> dict[str, tuple]:
    """relative path -> (kind, content hash or link target, mode) for everything under root;
    fifos and devices are never opened."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                info = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                info = os.readlink(path)
            else:
                info = None
            out[str(path.relative_to(root))] = (stat.S_IFMT(st.st_mode), info,
                                                stat.S_IMODE(st.st_mode))
    return out


def changed(before: dict, after: dict) -> list[str]:
    """Paths added, removed or modified between two snapshots."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def clean_error(code: int, err: str, *names: str, exit_code: int = 2) -> None:
    """The brief's error contract: exit code, no traceback, names in the message, a fix."""
    assert code == exit_code, (code, err)
    assert "Traceback" not in err, err
    assert "Fix:" in err, err
    for name in names:
        assert str(name) in err, (name, err)


def run_tool(capsys, *args) -> tuple[int, str, str]:
    """`spyre-hydra ARGS` in-process: (exit code, stdout, stderr). An exception that is not
    a SpyreHydraError escapes and fails the test, just as it would print a traceback."""
    from spyre_hydra.cli.main import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def as_nobody(fn, *args):
    """Run ``fn(*args)`` in a forked child as user nobody; its return value (pickled), or
    pytest.skip when this process cannot switch user."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop privileges for good, run, report, exit without cleanup
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            result = ("raised", f"{type(exc).__name__}: {exc}")
        with os.fdopen(write, "wb") as fh:
            fh.write(pickle.dumps(result))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return pickle.loads(data) if data else ("raised", "child died")


def drop_log_handlers() -> None:
    """Hydra configures logging handlers on the stream of the run that made them; an
    in-process run after an earlier test's capture closed would write to a closed stream."""
    import logging

    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in list(getattr(logger, "handlers", [])):
            logger.removeHandler(handler)

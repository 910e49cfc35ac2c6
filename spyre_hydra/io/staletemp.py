"""Temp files of the one writer, and the ones a killed writer left behind.

The writer writes `.<name>.<host>-<pid>-<12 hex>.tmp` beside its target (host: a short hash
of this machine's name, so that a pid is only judged where it means something, not from
another container sharing the directory), then renames it into place; SIGKILL between the
two leaves it there, and nothing else would ever remove it. The next write into that
directory removes such a file once it is provably stale: its name is of this pattern, it is
a regular file (never followed) of this user, and the process that wrote it on this host is
gone (written elsewhere, or a name of an older version without a pid: older than STALE_S).
Anything else with a similar name is left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import stat
import time


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def temp_name(name: str) -> str:
    """A fresh temp name for target `name`, carrying this host and process."""
    return f".{name}.{_host()}-{os.getpid()}-{secrets.token_hex(6)}.tmp"


#: A temp name of this writer (older versions wrote no `<host>-<pid>-`).
_TEMP = re.compile(r"\.(?P<name>.+)\.(?:(?P<host>[0-9a-f]{6})-(?P<pid>[0-9]+)-)?"
                   r"[0-9a-f]{12}\.tmp")
#: Age after which a temp file without a pid in its name is taken as left behind.
STALE_S = 3600


def is_temp_name(name: str) -> bool:
    """True for a name of this writer's temp pattern (never an output's name: the next
    write would remove it once its process looks gone)."""
    return _TEMP.fullmatch(name) is not None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid: not provably gone
    return True


def clean_stale(folder_fd: int) -> None:
    """Remove temp files a killed writer left in this directory: only names of the writer's
    own pattern, regular files (never followed) of this user, whose writing process on this
    host is gone, or (written elsewhere, or without a pid) older than STALE_S."""
    host = _host()
    try:
        names = [n for n in os.listdir(folder_fd) if n.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        match = _TEMP.fullmatch(name)
        if not match:
            continue
        with contextlib.suppress(OSError):
            st = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                continue
            here = match["host"] == host
            gone = here and int(match["pid"]) != os.getpid() and not _alive(int(match["pid"]))
            if gone or (not here and time.time() - st.st_mtime > STALE_S):
                os.unlink(name, dir_fd=folder_fd)


__all__ = ["STALE_S", "clean_stale", "is_temp_name", "temp_name"]

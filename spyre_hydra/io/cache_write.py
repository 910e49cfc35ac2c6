"""Cache files and cache directories: atomic, never over a symlink, no manifest (the cache dir
is ours; its trust is io/cachedir.py's). Part of the one writer: the temp files and kinds are
io/writer.py's."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from spyre_hydra.io.manifest import OutputError, _kind
from spyre_hydra.io.writer import _encode, _mkdirs, install


def _open_below(root: Path, parts) -> int:
    """A dir fd for root/parts..., creating missing parts, never following a symlink below
    ``root`` (root itself the caller has checked: spyre_hydra.io.cachedir)."""
    _mkdirs(root)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                              dir_fd=fd)
            except OSError as exc:
                raise OutputError(f"cache dir {root}: {part} in it is a symlink or not a "
                                  f"directory ({exc.strerror}); spyre-hydra never follows one "
                                  "there. Fix: remove it, or set SPYRE_HYDRA_CACHE to another "
                                  "directory.") from None
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_cache(path, content: str | bytes, mode: int = 0o644, root=None) -> Path:
    """A cache file: atomic, replaces only a regular file, no manifest (the location is ours).
    With ``root`` (the cache dir), the dirs between it and the file are created and opened
    without following a symlink."""
    path = Path(path)
    parts = path.parent.relative_to(root).parts if root is not None else ()
    fd = _open_below(Path(root) if root is not None else path.parent, parts)
    try:
        with contextlib.suppress(FileNotFoundError):
            st = os.lstat(path.name, dir_fd=fd)
            if _kind(st.st_mode):
                raise OutputError(f"cache file {path} is {_kind(st.st_mode)}; not replaced. Fix: "
                                  "remove it, or set SPYRE_HYDRA_CACHE to another directory.")
        install(fd, path.name, _encode(content), mode)
    finally:
        os.close(fd)
    return path


__all__ = ["write_cache"]

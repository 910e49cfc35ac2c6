"""What the one writer knows of a directory: its manifest of own files, and what a path is.

spyre_hydra.io.writer writes; this module only reads (the manifest, lstat kinds, hashes) and
formats the manifest's body, so the writer's rules can be checked without writing anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from spyre_hydra.errors import SpyreHydraError
from spyre_hydra.io.reading import InputError, read_text_bounded

MANIFEST = ".spyre_hydra_manifest.json"
#: Manifest value of a file written as a stream (a log): ours, its content not tracked.
STREAM = "stream"
_KINDS = {stat.S_IFLNK: "a symlink", stat.S_IFDIR: "a directory", stat.S_IFCHR: "a device",
          stat.S_IFBLK: "a device", stat.S_IFIFO: "a fifo", stat.S_IFSOCK: "a socket"}


class OutputError(SpyreHydraError):
    """A file spyre_hydra was asked to write but must not (symlink, foreign, edited, source)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:  # streamed: an own file swapped for a huge one stays cheap
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _kind(mode: int) -> str | None:
    """None for a regular file, else what the path is."""
    return None if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _lstat(path: Path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise OutputError(f"cannot write {path}: a parent of it is a file, not a directory. "
                          "Fix: choose an output path inside a directory.") from None


def read_manifest(folder: Path) -> dict[str, str]:
    """File name -> sha256 of the files this writer wrote into ``folder``."""
    path = folder / MANIFEST
    st = _lstat(path)
    if st is None:
        return {}
    if not stat.S_ISREG(st.st_mode) or st.st_size > 4 << 20:
        raise OutputError(f"cannot write into {folder}: {path} is {_kind(st.st_mode) or 'too big'}"
                          ", not spyre-hydra's manifest. Fix: remove it, or choose another "
                          "output directory.")
    try:
        data = json.loads(read_text_bounded(path, 4 << 20, what="manifest"))
    except (InputError, ValueError, RecursionError):
        return {}  # a damaged manifest vouches for nothing: every file there is foreign
    files = data.get("files") if isinstance(data, dict) else None
    return {k: v for k, v in files.items() if isinstance(v, str)} if isinstance(
        files, dict) else {}


def manifest_body(files: dict[str, str]) -> bytes:
    """The manifest's bytes for ``files`` (name -> sha256 or STREAM), as read_manifest reads
    them back."""
    return json.dumps({"writer": "spyre_hydra", "files": files}, indent=1,
                      sort_keys=True).encode()


__all__ = ["MANIFEST", "STREAM", "OutputError", "manifest_body", "read_manifest", "sha256"]

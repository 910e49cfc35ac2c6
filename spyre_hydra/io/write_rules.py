"""The writer's rules: which targets it may write (see io/writer.py for the list)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from spyre_hydra.io.manifest import (
    MANIFEST,
    STREAM,
    OutputError,
    _file_sha256,
    _kind,
    _lstat,
    read_manifest,
)
from spyre_hydra.io.staletemp import is_temp_name


def _refusal(path: Path, force: bool, sources: set, stream: bool = False) -> str | None:
    """Why ``path`` must not be written, or None."""
    if path.name == MANIFEST:
        return (f"{MANIFEST} is the name of the writer's own record of the files it wrote "
                "there; a file of that name would be replaced by it. Fix: choose another "
                "file name.")
    if is_temp_name(path.name):
        return ("the name has the pattern of the writer's temp files, which a later write "
                "removes once they look left behind. Fix: choose another file name.")
    st = _lstat(path)
    if st is None:
        parent = path.parent
        while _lstat(parent) is None and parent != parent.parent:
            if parent.name == MANIFEST or is_temp_name(parent.name):
                # a dir of that name would stand where the writer keeps its record / temps
                return (f"the directory {parent} would be created with the name of the "
                        "writer's own record or temp files, and no later write could go "
                        f"into {parent.parent}. Fix: choose another directory name.")
            parent = parent.parent
        if not parent.is_dir():
            return (f"{parent} is not a directory. Fix: choose an output path inside a "
                    "directory.")
        return None
    kind = _kind(st.st_mode)
    if kind:
        target = f" (to {os.readlink(path)})" if stat.S_ISLNK(st.st_mode) else ""
        return (f"it is {kind}{target}; spyre-hydra only replaces regular files it wrote. "
                f"Fix: remove or rename {path} yourself, or choose another output path.")
    if (st.st_dev, st.st_ino) in sources:
        return ("it is the input being read. Fix: choose an output path that does not hold "
                "the source.")
    known = read_manifest(path.parent).get(path.name)
    if known is None:
        return ("it exists and spyre-hydra did not write it (not in "
                f"{path.parent / MANIFEST}). Fix: move it away yourself, or choose another "
                "output path; --force never replaces files it did not write.")
    if known == STREAM and not stream and not force:
        return ("spyre-hydra wrote it as a log, whose content it does not track, so it cannot "
                "tell whether it was edited since. Fix: pass --force to replace it, or move "
                "it away first.")
    if not force and known != STREAM and _file_sha256(path) != known:
        return ("it was edited since spyre-hydra wrote it. Fix: pass --force to replace it "
                "(your edits are lost), or move it away first.")
    return None


def _source_ids(sources: Iterable) -> set:
    ids = set()
    for src in sources or ():
        with contextlib.suppress(OSError):
            st = os.stat(src)
            ids.add((st.st_dev, st.st_ino))
    return ids


def check_targets(paths: Iterable, force: bool = False, sources: Iterable = (),
                  stream: bool = False) -> None:
    """Raise one OutputError naming every target that must not be written."""
    ids, paths = _source_ids(sources), [Path(p) for p in paths]
    problems = [(p, why) for p in map(Path, paths) if (why := _refusal(p, force, ids, stream))]
    if len(problems) == 1 and len(set(paths)) == 1:
        raise OutputError(f"cannot write {problems[0][0]}: {problems[0][1]}")
    if problems:
        raise OutputError(f"refused to write {len(problems)} of {len(set(paths))} files; "
                          "nothing was written:\n" + "\n".join(f"  - {p}: {why}"
                                                                for p, why in problems))


__all__ = ["check_targets"]

"""The one walk of a conf tree: bounded, dot dirs skipped, directory symlinks never entered
(`model/family/x -> /` must not walk the filesystem)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from spyre_hydra.errors import ConfigValidationError, Problem

#: Directory entries a walk visits before it stops: a conf tree has a few hundred.
MAX_ENTRIES = 50_000


def bounded_walk(root: Path):
    """(path, lstat result) of every entry under root, dot-dirs and directory symlinks not
    entered; ConfigValidationError past MAX_ENTRIES."""
    stack, count = [str(root)], 0
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            count += 1
            if count > MAX_ENTRIES:
                raise ConfigValidationError([Problem(
                    str(root), f"holds more than {MAX_ENTRIES} entries; a conf tree holds a "
                    "few hundred.", "", "pass the conf tree itself (the dir with model/, "
                    "device/ ...), not a dir above it")], "cannot read the conf tree")
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield entry.path, st
            if stat.S_ISDIR(st.st_mode) and not entry.name.startswith("."):
                stack.append(entry.path)


def walk_yaml(root) -> list[str]:
    """Every *.yaml under root as sorted strings; a directory symlink is never followed
    (`model/family/x -> /` must not walk the filesystem)."""
    return sorted(p for p, _ in bounded_walk(Path(root)) if p.endswith(".yaml"))


__all__ = ["MAX_ENTRIES", "bounded_walk", "walk_yaml"]

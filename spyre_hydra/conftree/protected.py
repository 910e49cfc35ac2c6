"""Where an export must never write: inside spyre_hydra's own package or a conf search path.

A bundle or catalog written into `<site-packages>/spyre_hydra/`, its shipped `conf/`, a
user's conf dir (`--config-dir`) or the sweeper plugin's package becomes part of what every
later command composes or imports (`export-legacy --out conf/model/x.yaml` is a model file
that breaks every launch), so `export-serve --out` and `export-legacy --out` refuse such a
target before anything is written.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _resolved(path) -> Path:
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare the path as given
        return Path(os.path.abspath(path))


def protected_dirs(tree=None) -> list[tuple[str, Path]]:
    """(what it is, resolved dir) for every place an export must stay out of; `tree`: the
    ConfTree the command reads (its roots are protected too)."""
    from spyre_hydra.conftree.roots import shipped_conf_dir

    found = [("spyre_hydra's package", _resolved(Path(__file__).parents[1])),
             ("spyre_hydra's shipped conf tree", _resolved(shipped_conf_dir()))]
    try:  # find_spec imports only the hydra_plugins namespace, not the sweeper
        spec = importlib.util.find_spec("hydra_plugins.spyre_sweeper")
    except (ImportError, ValueError):
        spec = None
    for where in (spec.submodule_search_locations or []) if spec else []:
        found.append(("spyre_hydra's Hydra plugin package", _resolved(where)))
    if tree is not None:
        for root in tree.roots:
            found.append(("the conf search path of --config-dir", _resolved(root)))
    return found


def check_output_target(path, tree=None, flag: str = "--out") -> None:
    """OutputError when ``path`` is, or is inside, a dir of :func:`protected_dirs`."""
    from spyre_hydra.io.writer import OutputError

    target = _resolved(path)
    for what, folder in protected_dirs(tree):
        if target == folder or folder in target.parents:
            raise OutputError(
                f"{flag} {path}: it is inside {what} ({folder}); a file written there becomes "
                "part of what every later spyre-launch / spyre-hydra command composes or "
                "imports, and one export could break them all. Fix: choose a directory "
                f"outside it (e.g. ./deploy).")


__all__ = ["check_output_target", "protected_dirs"]

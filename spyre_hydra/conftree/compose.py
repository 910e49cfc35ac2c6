"""Hydra's compose API with spyre_hydra's resolvers, schemas and the user's conf dir first.

A leaf module (it imports no checks and no plan), so the catalog can compose a model file
without an import circle through the front door.

Hydra's compose API works on process-wide state: the GlobalHydra singleton (one per
process, refused when already initialized). compose_launch holds one lock around it, so
threads compose one at a time, ranks the tree's user dir first for this compose only
(conftree/searchpath.py), and puts back what the caller had: its GlobalHydra object and the
Hydra in it (an `@hydra.main` app or an `initialize()` block of the caller's keeps
working). Code that uses Hydra's compose API directly from another thread at the same moment
is outside the lock: that is Hydra's single global, not something a library can share safely.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

#: Serialises every use of Hydra's global state by spyre_hydra (re-entrant: the catalog
#: may compose a model file while a compose of the same thread is under way).
HYDRA_LOCK = threading.RLock()


def compose_launch(overrides: Sequence[str] = (), conf_dir=None):
    """The composed tree (with its `hydra` node) for overrides that are already checked:
    Hydra's compose API, the user's conf dir ranked first; the caller's Hydra state is
    left as it was. `conf_dir`: a ConfTree (the front door's), a path, or None."""
    from hydra import compose as hydra_compose
    from hydra.core.global_hydra import GlobalHydra

    from spyre_hydra.conftree.arguments import check_overrides
    from spyre_hydra.conftree.hydra_adapter import initialize_conf_dir
    from spyre_hydra.conftree.resolvers import register_resolvers
    from spyre_hydra.conftree.roots import shipped_conf_dir
    from spyre_hydra.conftree.schema import store_schemas
    from spyre_hydra.conftree.searchpath import ranked_first
    from spyre_hydra.conftree.tree import ConfTree

    overrides = check_overrides(overrides, "spyre_hydra.compose_launch")
    tree = ConfTree.coerce(conf_dir, "spyre_hydra.compose_launch")
    with HYDRA_LOCK:
        register_resolvers()
        store_schemas()
        holder = GlobalHydra.instance()
        caller = holder.hydra  # None unless the caller runs Hydra (an app, initialize())
        holder.clear()
        try:
            with ranked_first(tree), initialize_conf_dir(str(shipped_conf_dir())):
                return hydra_compose("config", overrides=list(overrides),
                                     return_hydra_config=True)
        finally:
            # initialize_config_dir's exit installs a copy of the cleared instance: put the
            # caller's own object back, holding the caller's Hydra
            GlobalHydra.set_instance(holder)
            holder.clear()
            if caller is not None:
                holder.initialize(caller)


__all__ = ["HYDRA_LOCK", "compose_launch"]

"""Hydra's compose API with spyre_hydra's resolvers, schemas and the user's conf dir first.

A leaf module (it imports no checks and no plan), so the catalog can compose a model file
without an import circle through the front door.
"""

from __future__ import annotations

from collections.abc import Sequence


def compose_launch(overrides: Sequence[str] = (), conf_dir=None):
    """The composed tree (with its `hydra` node) for overrides that are already checked:
    Hydra's compose API, the user's conf dir ranked first."""
    from hydra import compose as hydra_compose
    from hydra.core.global_hydra import GlobalHydra

    from spyre_hydra.conftree.hydra_adapter import initialize_conf_dir
    from spyre_hydra.conftree.resolvers import register_resolvers
    from spyre_hydra.conftree.roots import shipped_conf_dir
    from spyre_hydra.conftree.schema import store_schemas
    from spyre_hydra.conftree.searchpath import use_conf_dir

    from spyre_hydra.conftree.arguments import check_conf_dir, check_overrides

    overrides = check_overrides(overrides, "spyre_hydra.compose_launch")
    check_conf_dir(conf_dir, "spyre_hydra.compose_launch")
    register_resolvers()
    store_schemas()
    use_conf_dir(conf_dir)
    GlobalHydra.instance().clear()
    with initialize_conf_dir(str(shipped_conf_dir())):
        return hydra_compose("config", overrides=list(overrides), return_hydra_config=True)


__all__ = ["compose_launch"]

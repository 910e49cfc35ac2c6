"""Put the user's conf dir (`--config-dir DIR` / `conf_dir=`) ahead of the shipped tree.

Hydra's own --config-dir is searched after the app's primary dir, so a user's
`model/granite_8b.yaml` would lose to the shipped one while the registry (which reads the
user's dir first) would take it. This search-path plugin keeps the two in agreement.
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.core.plugins import Plugins
from hydra.plugins.search_path_plugin import SearchPathPlugin


class SpyreUserConfDir(SearchPathPlugin):
    """Prepends the user's conf dir before Hydra's `main` entry. Hydra instantiates search
    path plugins itself, so the dir for the next compose is held on the class (set by
    use_conf_dir); everything after composition reads the plan's conf roots instead."""

    user_dir: Path | None = None

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        path = SpyreUserConfDir.user_dir
        if path is not None:
            search_path.prepend(provider="spyre-hydra", path=f"file://{path}",
                                anchor=SearchPathQuery(provider="main"))


def use_conf_dir(path) -> None:
    """Rank ``path`` (or nothing, for None) first for the next Hydra compose; a user dir is
    checked as data first (conftree/trust.py): what Hydra is about to load is refused before
    it does."""
    if path is not None:
        from spyre_hydra.conftree.roots import cache_dir, shipped_conf_dir

        if Path(path).resolve() != shipped_conf_dir():
            from spyre_hydra.conftree.trust import check_user_root

            check_user_root(path, shipped=shipped_conf_dir(), cache=cache_dir())
    Plugins.instance().register(SpyreUserConfDir)  # idempotent
    SpyreUserConfDir.user_dir = Path(path).resolve() if path is not None else None


"""Put the user's conf dir (`--config-dir DIR` / `conf_dir=`) ahead of the shipped tree.

Hydra's own --config-dir (and `hydra.searchpath`) are searched after the app's primary
dir, so a user's `model/granite_8b.yaml` would lose to the shipped one while the registry
(which reads the user's dir first) would take it. This search-path plugin keeps the two in
agreement.

Hydra builds its search path once, when a compose or an app starts, and instantiates the
plugin itself with no arguments, so the plugin cannot be handed the ConfTree. It reads it
from a context variable that only `ranked_first(tree)` sets, for the duration of its
`with` block: nothing is left behind for the next compose, another thread (a new thread
starts with an empty context) or a user's own Hydra app in the same process.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.core.plugins import Plugins
from hydra.plugins.search_path_plugin import SearchPathPlugin

#: The user conf dir of the Hydra start under way in this context (None: none).
_RANKED: ContextVar[Path | None] = ContextVar("spyre_hydra_user_conf_dir", default=None)


class SpyreUserConfDir(SearchPathPlugin):
    """Prepends the user's conf dir of the current `ranked_first` block before Hydra's
    `main` entry; outside such a block it leaves the search path alone."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        path = _RANKED.get()
        if path is not None:
            search_path.prepend(provider="spyre-hydra", path=f"file://{path}",
                                anchor=SearchPathQuery(provider="main"))


def ranked_user_dir() -> Path | None:
    """The user conf dir Hydra would rank first now (None outside `ranked_first`)."""
    return _RANKED.get()


@contextmanager
def ranked_first(tree):
    """Within the block, Hydra starts (compose API or an app) search `tree`'s user dir
    first. The dir is checked as data (conftree/trust.py) before Hydra may load it."""
    user = tree.user_dir if tree is not None else None
    if user is not None:
        from spyre_hydra.conftree.roots import cache_dir, shipped_conf_dir
        from spyre_hydra.conftree.trust import check_user_root

        check_user_root(user, shipped=shipped_conf_dir(), cache=cache_dir())
    Plugins.instance().register(SpyreUserConfDir)  # idempotent
    token = _RANKED.set(Path(user).resolve() if user is not None else None)
    try:
        yield
    finally:
        _RANKED.reset(token)


__all__ = ["SpyreUserConfDir", "ranked_first", "ranked_user_dir"]

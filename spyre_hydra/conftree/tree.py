"""ConfTree: the conf roots of one launch, as one value.

Built once at the front door (`ConfTree.at(conf_dir)` for the API and the tools, or from
the roots Hydra searched for a task) and then passed down: the argv checks, Hydra's
compose, the catalog loader and registry, the plan (which carries it to the engine, the
vLLM plugin, bundles and sweep workers) all take this value, never a `conf_dir` path or
a list of roots of their own. Everything one needs to know about the tree is a method:
which files it has (find, options, model_files), which roots hold catalog models, that
its defaults lists parse and close (check), and its fingerprint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConfTree:
    """The conf directories searched, the user's first, the shipped tree last."""

    roots: tuple[Path, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "roots", tuple(Path(r) for r in self.roots))

    # -- building one -----------------------------------------------------------------
    @classmethod
    def at(cls, conf_dir: str | os.PathLike | None = None) -> "ConfTree":
        """The tree of a user conf dir (None: the shipped tree alone). The one place a
        user's root is validated (conftree.roots.search_path raises for a bad one)."""
        from spyre_hydra.conftree.roots import search_path

        return cls(tuple(search_path(conf_dir)))

    @classmethod
    def of(cls, roots=None) -> "ConfTree":
        """A tree from roots already found (a plan's, Hydra's); none: the shipped tree."""
        if isinstance(roots, ConfTree):
            return roots
        if isinstance(roots, (str, os.PathLike)):  # one dir is a conf_dir: see at()/coerce()
            raise TypeError(f"ConfTree.of takes a list of roots, not the path {roots!r}; "
                            "use ConfTree.at(path) for a user conf dir")
        return cls(tuple(roots)) if roots else cls.at(None)

    @classmethod
    def coerce(cls, conf_dir, func: str) -> "ConfTree":
        """The public API's edge: `conf_dir=` may be a ConfTree, a path or None. A wrong
        type or an empty path is ArgumentTypeError naming `func`; a path is validated."""
        if isinstance(conf_dir, ConfTree):
            return conf_dir
        from spyre_hydra.conftree.arguments import check_conf_dir

        check_conf_dir(conf_dir, func)
        return cls.at(conf_dir)

    # -- what it holds ----------------------------------------------------------------
    @property
    def user_dir(self) -> Path | None:
        """The user's conf dir, or None when only the shipped tree is searched."""
        from spyre_hydra.conftree.roots import shipped_conf_dir

        shipped = shipped_conf_dir().resolve()
        for root in self.roots:
            if root.resolve() != shipped:
                return root
        return None

    def find(self, group: str, option: str | None = None) -> Path | None:
        """The file of `group/option` (e.g. backend, eager), or of a path such as
        `model/family/base`, on the roots: the first root wins, as in Hydra."""
        from spyre_hydra.conftree.roots import find_config

        return find_config(group if option is None else f"{group}/{option}", list(self.roots))

    def options(self, group: str) -> list[str]:
        """The options of a config group across the roots (for `model`: the catalog's)."""
        from spyre_hydra.conftree.roots import group_options

        return group_options(group, list(self.roots))

    def model_files(self) -> dict[str, Path]:
        """Catalog model option -> its file (a user's file wins by name)."""
        from spyre_hydra.conftree.roots import model_files

        return model_files(list(self.roots))

    def catalog_roots(self) -> list[Path]:
        """The roots whose model files are catalog models (conftree.roots.catalog_roots)."""
        from spyre_hydra.conftree.roots import catalog_roots

        return catalog_roots(list(self.roots))

    def check(self) -> None:
        """Every conf file parses and no defaults list is a cycle (the one reader)."""
        from spyre_hydra.conftree.defaults import check_conf_tree

        check_conf_tree(list(self.roots))

    def file_hashes(self) -> dict[str, str]:
        """sha256 of every conf file of the roots, by path."""
        from spyre_hydra.conftree.stamp import file_hashes

        return file_hashes(self.roots)

    def fingerprint(self, hashes: dict[str, str] | None = None) -> str:
        """sha256 of every conf file of the roots (spyre_hydra.conftree.stamp)."""
        from spyre_hydra.conftree.stamp import catalog_fingerprint

        return catalog_fingerprint(self.roots, hashes)

    def to_list(self) -> list[str]:
        """The roots as text (the JSON form: a plan's provenance.conf_roots)."""
        return [str(r) for r in self.roots]


__all__ = ["ConfTree"]

"""ConfTree: the conf roots of one launch, as one value.

Built once at the front door (`ConfTree.at(conf_dir)`, or from the roots Hydra searched)
and carried by the LaunchPlan, so the engine, the vLLM plugin, bundles and sweep workers
find the same files without a `conf_dir` parameter or a HydraConfig of their own.
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
        return cls(tuple(roots)) if roots else cls.at(None)

    @property
    def user_dir(self) -> Path | None:
        """The user's conf dir, or None when only the shipped tree is searched."""
        from spyre_hydra.conftree.roots import shipped_conf_dir

        shipped = shipped_conf_dir().resolve()
        for root in self.roots:
            if root.resolve() != shipped:
                return root
        return None

    def find(self, group: str, option: str) -> Path | None:
        """The file of `group/option` (e.g. backend, eager) on the roots, first root wins."""
        from spyre_hydra.conftree.roots import find_config

        return find_config(f"{group}/{option}", list(self.roots))

    def options(self, group: str) -> list[str]:
        """The options of a config group across the roots."""
        from spyre_hydra.conftree.roots import group_options

        return group_options(group, list(self.roots))

    def fingerprint(self) -> str:
        """sha256 of every conf file of the roots (spyre_hydra.conftree.stamp)."""
        from spyre_hydra.conftree.stamp import catalog_fingerprint

        return catalog_fingerprint(self.roots)

    def to_list(self) -> list[str]:
        """The roots as text (the JSON form: a plan's provenance.conf_roots)."""
        return [str(r) for r in self.roots]


__all__ = ["ConfTree"]

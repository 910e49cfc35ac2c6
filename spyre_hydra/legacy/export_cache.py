"""The composed catalog in the Spyre plugin's schema, cached for launches that point the
plugin at it (SENDNN_INFERENCE_MODEL_CONFIG_FILE)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def model_config_file(sendnn_version: str | None, tree=None) -> Path:
    """The exported catalog of a ConfTree (None: the shipped one), cached per catalog
    content + version, so the plugin's own registry (which runs under the Spyre backends)
    reads what the plan read."""
    from spyre_hydra.catalog.loader import _fingerprint
    from spyre_hydra.conftree.roots import cache_dir
    from spyre_hydra.conftree.tree import ConfTree
    from spyre_hydra.conftree.versions import parse_version
    from spyre_hydra.legacy.exporter import export_legacy

    tree = ConfTree.of(tree)
    version = parse_version(sendnn_version)
    key = hashlib.sha256(f"{_fingerprint(list(tree.roots))}:{version or 'default'}"
                         .encode()).hexdigest()[:20]
    path = cache_dir() / "model_configs" / f"{key}.yaml"
    if not path.is_file():  # export_legacy writes atomically: concurrent jobs are safe
        export_legacy(path, tree.user_dir, sendnn_version)
    return path


__all__ = ["model_config_file"]

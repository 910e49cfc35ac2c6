"""The composed catalog as the file the Spyre plugin reads (SENDNN_INFERENCE_MODEL_CONFIG_FILE).

Cached as `<cache>/model_configs/<key>.yaml`, keyed by the catalog's content and the
torch_sendnn version. The plugin reads it as it is, so it is verified on every use like a
catalog cache entry: its text must be exactly what this catalog exports now, and it must be
a regular file of this user's (or root's) that nobody else may write. A tampered, truncated
or swapped file (a symlink to /etc/passwd) is rewritten; one that cannot be replaced (a
symlink or a dir there), or a cache dir other users may write, gives a fresh private copy
for this process instead (io/cachedir.py).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def _current(path: Path, expected: bytes) -> bool:
    from spyre_hydra.io.cachedir import unsafe_file_reason
    from spyre_hydra.io.reading import InputError, read_bytes_bounded

    if unsafe_file_reason(path) is not None:
        return False
    try:
        return read_bytes_bounded(path, what="cached plugin catalog") == expected
    except InputError:
        return False


def plugin_catalog_file(sendnn_version: str | None, tree=None) -> Path:
    """A path the plugin may read for the catalog of ConfTree `tree` (None: the shipped
    one): the verified cache file, or a private copy."""
    from spyre_hydra.catalog.configurator import strict_from_env
    from spyre_hydra.catalog.loader import _fingerprint
    from spyre_hydra.conftree.roots import cache_dir
    from spyre_hydra.conftree.tree import ConfTree
    from spyre_hydra.conftree.versions import parse_version
    from spyre_hydra.io.cache_write import write_cache
    from spyre_hydra.io.cachedir import private_dir, usable_cache_dir
    from spyre_hydra.io.writer import OutputError
    from spyre_hydra.legacy.exporter import legacy_text

    tree = ConfTree.of(tree)
    version = parse_version(sendnn_version)
    key = hashlib.sha256(f"{_fingerprint(tree)}:{version or 'default'}"
                         .encode()).hexdigest()[:20]
    expected = legacy_text(tree, sendnn_version).encode("utf-8")
    root = usable_cache_dir(cache_dir(), strict_from_env())
    if root is not None:
        path = root / "model_configs" / f"{key}.yaml"
        if _current(path, expected):
            return path
        try:  # atomic: a concurrent launch reads the old file or the new one, never half
            return write_cache(path, expected, root=root)
        except (OSError, OutputError) as exc:
            log.warning("spyre_hydra: %s; the plugin reads a private copy instead", exc)
    path = private_dir("model_configs") / f"{key}.yaml"
    path.write_bytes(expected)  # a fresh 0700 dir of this process: no one else can be there
    return path


#: The name launches use (engine/launchenv): the same function.
model_config_file = plugin_catalog_file


__all__ = ["model_config_file", "plugin_catalog_file"]

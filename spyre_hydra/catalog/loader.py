"""Load every model entry of a conf tree in one pass, with a content-keyed cache.

Hydra's compose costs ~150 ms per model; the catalog only needs each model file merged over
its family bases, which is the same OmegaConf merge Hydra does for `defaults: [base@_here_,
_self_]`. Files whose defaults use any other form fall back to a real Hydra compose.
tests/test_catalog.py proves the fast path and Hydra compose give identical trees.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from spyre_hydra.conftree.conffile import read_conf_file
from spyre_hydra.conftree.roots import (
    PSEUDO_MODELS,
    cache_dir,
    find_config,
    model_files,
    search_path,
)
from spyre_hydra.conftree.trust import walk_yaml
from spyre_hydra.errors import ConfigValidationError, Problem
from spyre_hydra.io.literal import unescape
from spyre_hydra.io.reading import InputError, read_bytes_bounded
from spyre_hydra.io.writer import OutputError, write_cache

log = logging.getLogger(__name__)


CACHE_FORMAT = 2


class _NeedsHydra(Exception):
    """A defaults list the fast path does not handle."""




class _Loader_:
    """Merges a model file over its bases; memoises bases shared by many models."""

    def __init__(self, roots: list[Path]):
        self.roots = roots
        self.memo: dict[Path, tuple[DictConfig, list[str]]] = {}
        self.blobs: dict[Path, bytes] = {}
        self.loading: list[Path] = []  # the bases being read, outermost first

    def load(self, path: Path, group_dir: str) -> tuple[DictConfig, list[str]]:
        """The file merged over its bases (defaults: [base@_here_, ..., _self_])."""
        if path in self.memo:
            return self.memo[path]
        if path in self.loading:  # family files that name each other: say which, not recurse
            ring = [*self.loading[self.loading.index(path):], path]
            raise ConfigValidationError([Problem(
                str(path), "its defaults list comes back to itself: "
                + " -> ".join(map(str, ring)) + ".", "",
                "make one of these files stop naming the other as a base")],
                "cannot read the conf tree")
        self.loading.append(path)
        try:
            return self._load(path, group_dir)
        finally:
            self.loading.pop()

    def _load(self, path: Path, group_dir: str) -> tuple[DictConfig, list[str]]:
        data = read_conf_file(path)
        defaults = data.pop("defaults", None) or []
        if defaults and "_self_" in defaults and defaults[-1] != "_self_":
            raise _NeedsHydra(f"{path}: _self_ is not last")  # rare: let Hydra order it
        bases: list[DictConfig] = []
        chain: list[str] = []
        for entry in defaults:
            if entry == "_self_":
                continue
            if not isinstance(entry, str) or not entry.endswith("@_here_"):
                raise _NeedsHydra(f"{path}: defaults entry {entry!r}")
            rel = entry[: -len("@_here_")]
            rel = rel.lstrip("/") if rel.startswith("/") else f"{group_dir}/{rel}"
            base_path = find_config(rel, self.roots)
            if base_path is None:
                raise ConfigValidationError([Problem(f"{path}: defaults", f"no config {rel!r} in "
                                             f"{[str(r) for r in self.roots]}.", "",
                                             "check the base's name and folder")],
                                            "cannot read the conf tree")
            base, base_chain = self.load(base_path, rel.rsplit("/", 1)[0])
            bases.append(self._copy(base_path, base))
            chain += base_chain
        if not bases:
            merged = OmegaConf.create(data)
        else:
            # What OmegaConf.merge does, without its deepcopy of every input: the bases are
            # private copies already, and the file's own keys go in with OmegaConf.update
            # (merge=True), which skips wrapping them into a tree first. Hydra puts _self_
            # last when it isn't listed, as here. tests/test_catalog.py checks the result
            # equals Hydra's compose for every model.
            merged = OmegaConf.unsafe_merge(*bases) if len(bases) > 1 else bases[0]
            for key, value in data.items():
                # Lists replace (as in any OmegaConf merge); setting them skips the list merge.
                OmegaConf.update(merged, key, value, merge=not isinstance(value, list))
        result = (merged, [*chain, str(path)])
        self.memo[path] = result
        return result

    def _copy(self, path: Path, node: DictConfig) -> DictConfig:
        blob = self.blobs.get(path)
        if blob is None:  # our own in-memory object, never read from disk
            blob = self.blobs[path] = pickle.dumps(node, protocol=pickle.HIGHEST_PROTOCOL)
        return pickle.loads(blob)  # noqa: S301 - ~7x faster than deepcopy


def _compose_with_hydra(option: str, roots: list[Path]) -> dict:
    from spyre_hydra.conftree.compose import compose_launch

    cfg = compose_launch([f"model={option}"], conf_dir=roots[0] if len(roots) > 1 else None)
    return OmegaConf.to_container(cfg.model, resolve=False, throw_on_missing=False)


def _yaml_paths(root: Path) -> list[str]:
    """Every *.yaml under root, as sorted strings; directory symlinks are not followed."""
    return walk_yaml(root)


def file_hashes(roots: list[Path]) -> dict[str, str]:
    """sha256 of every conf file under the roots (read bounded: regular files only)."""
    out = {}
    for root in roots:
        for path in _yaml_paths(root):
            try:
                out[path] = hashlib.sha256(read_bytes_bounded(path, what="conf file")
                                           ).hexdigest()
            except InputError as exc:
                raise ConfigValidationError([Problem(exc.path, exc.why, "", exc.fix)],
                                            "cannot read the conf tree") from None
    return out


def _fingerprint(roots: list[Path], hashes: dict[str, str] | None = None) -> str:
    from spyre_hydra._version import __version__

    hashes = file_hashes(roots) if hashes is None else hashes
    blob = json.dumps([CACHE_FORMAT, __version__, sorted(hashes.items())])
    return hashlib.sha256(blob.encode()).hexdigest()


def load_entries(roots: list[Path]) -> dict[str, dict[str, Any]]:
    """option -> {"model": plain entry, "files": [base files..., model file]} (no cache)."""
    loader = _Loader_(roots)
    entries: dict[str, dict[str, Any]] = {}
    for option, path in model_files(roots).items():
        try:
            node, files = loader.load(path, "model")
            model = OmegaConf.to_container(node, resolve=False, throw_on_missing=False)
        except _NeedsHydra as why:
            log.debug("composing %s with Hydra: %s", option, why)
            model, files = _compose_with_hydra(option, roots), [str(path)]
        # Imported text is stored escaped (`\${...}`) so Hydra never resolves it; the
        # catalog holds what Hydra's resolution gives: the literal text.
        entries[option] = {"model": unescape(model), "files": files}
    return entries


def _digest(option: str, item: dict) -> str:
    blob = json.dumps([CACHE_FORMAT, option, item["model"], item["files"], item["sha256"]],
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _seal(entries: dict, hashes: dict[str, str]) -> dict:
    """Entries as plain JSON data, each with its files' sha256 and a digest of itself."""
    entries = json.loads(json.dumps(entries))  # int keys become str, as a warm load sees them
    for option, item in entries.items():
        item["sha256"] = {f: hashes.get(f, "") for f in item["files"]}
        item["digest"] = _digest(option, item)
    return entries


def _verified(data, hashes: dict[str, str], roots: list[Path]):
    """The cached entries when every one still matches its files and its digest, else None:
    a damaged, edited or foreign cache file is rebuilt, never trusted."""
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return None
    entries = data.get("entries")
    if not isinstance(entries, dict) or list(entries) != _options(hashes, roots):
        return None
    for option, item in entries.items():
        try:
            if (not isinstance(item["model"], dict) or item["digest"] != _digest(option, item)
                    or any(hashes.get(f) != h for f, h in item["sha256"].items())
                    or set(item["sha256"]) != set(item["files"])):
                return None
        except (KeyError, TypeError, AttributeError):
            return None
    return entries


def _options(hashes: dict[str, str], roots: list[Path]) -> list[str]:
    """The model options model_files() would list, from the hashed file names (no glob)."""
    for root in roots:
        folder = str(root / "model")
        found = sorted(p for p in hashes if p.startswith(folder + os.sep)
                       and os.sep not in p[len(folder) + 1:])
        names = [Path(p).stem for p in found if Path(p).stem not in PSEUDO_MODELS]
        if names:
            return names
    return []


def load_catalog(conf_dir=None, use_cache: bool = True) -> dict[str, dict[str, Any]]:
    """The model entries of a conf tree, from the cache when it verifies against the files."""
    roots = search_path(conf_dir)
    if not use_cache or os.environ.get("SPYRE_HYDRA_NO_CACHE"):
        return load_entries(roots)
    hashes = file_hashes(roots)
    cached = cache_dir() / "catalog" / f"{_fingerprint(roots, hashes)}.json"
    try:  # plain JSON: a cache file can't run code, unlike a pickle
        entries = _verified(json.loads(read_bytes_bounded(cached, what="cache file")), hashes,
                            roots)
        if entries is not None:
            return entries
    except (InputError, ValueError):
        pass
    entries = _seal(load_entries(roots), hashes)
    try:
        write_cache(cached, json.dumps({"format": CACHE_FORMAT, "entries": entries}))
    except (OSError, OutputError) as exc:  # a read-only cache only costs speed
        log.debug("catalog cache not written: %s", exc)
    return entries

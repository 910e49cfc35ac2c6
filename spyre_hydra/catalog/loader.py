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
from spyre_hydra.conftree.defaults import cycle_error, entry_target
from spyre_hydra.conftree.roots import PSEUDO_MODELS, cache_dir
from spyre_hydra.conftree.tree import ConfTree
from spyre_hydra.errors import ConfigValidationError, Problem
from spyre_hydra.io.cache_write import write_cache
from spyre_hydra.io.cachedir import unsafe_file_reason, usable_cache_dir
from spyre_hydra.io.literal import unescape
from spyre_hydra.io.reading import InputError, read_bytes_bounded
from spyre_hydra.io.writer import OutputError

log = logging.getLogger(__name__)


CACHE_FORMAT = 4  # 3: conf files with YAML 1.1-only scalars are refused; 4: "checked" record


class _NeedsHydra(Exception):
    """A defaults list the fast path does not handle."""


class _Loader_:
    """Merges a model file over its bases; memoises bases shared by many models."""

    def __init__(self, tree: ConfTree):
        self.tree = tree
        self.memo: dict[Path, tuple[DictConfig, list[str]]] = {}
        self.blobs: dict[Path, bytes] = {}
        self.loading: list[Path] = []  # the bases being read, outermost first

    def load(self, path: Path, group_dir: str) -> tuple[DictConfig, list[str]]:
        """The file merged over its bases (defaults: [base@_here_, ..., _self_])."""
        if path in self.memo:
            return self.memo[path]
        if path in self.loading:  # family files that name each other: say which, not recurse
            raise cycle_error([*self.loading[self.loading.index(path):], path])
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
            rel = entry_target(group_dir, entry[: -len("@_here_")])
            base_path = self.tree.find(rel)
            if base_path is None:
                raise ConfigValidationError([Problem(f"{path}: defaults", f"no config {rel!r} in "
                                             f"{self.tree.to_list()}.", "",
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


def _compose_with_hydra(option: str, tree: ConfTree) -> dict:
    from spyre_hydra.conftree.compose import compose_launch

    cfg = compose_launch([f"model={option}"], tree)
    return OmegaConf.to_container(cfg.model, resolve=False, throw_on_missing=False)


def _fingerprint(tree: ConfTree, hashes: dict[str, str] | None = None) -> str:
    from spyre_hydra._version import __version__

    # The conf tree's one fingerprint, plus where it lies: cache entries hold file paths.
    hashes = tree.file_hashes() if hashes is None else hashes
    blob = json.dumps([CACHE_FORMAT, __version__, tree.to_list(), tree.fingerprint(hashes)])
    return hashlib.sha256(blob.encode()).hexdigest()


def load_entries(tree: ConfTree) -> dict[str, dict[str, Any]]:
    """option -> {"model": plain entry, "files": [base files..., model file]} (no cache)."""
    loader = _Loader_(tree)
    entries: dict[str, dict[str, Any]] = {}
    for option, path in tree.model_files().items():
        try:
            node, files = loader.load(path, "model")
            model = OmegaConf.to_container(node, resolve=False, throw_on_missing=False)
        except _NeedsHydra as why:
            log.debug("composing %s with Hydra: %s", option, why)
            model, files = _compose_with_hydra(option, tree), [str(path)]
        # Imported text is stored escaped (`\${...}`) so Hydra never resolves it; the
        # catalog holds what Hydra's resolution gives: the literal text.
        entries[option] = {"model": unescape(model), "files": files}
    return entries


def _digest(option: str, item: dict) -> str:
    blob = json.dumps([CACHE_FORMAT, option, item["model"], item["files"], item["sha256"]],
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _seal(entries: dict, hashes: dict[str, str]) -> dict:
    """Entries as plain JSON data, each with its files' sha256 and a digest of itself: damage
    detection (a truncated or stale entry), not trust -- that is the cache dir's owner."""
    entries = json.loads(json.dumps(entries))  # int keys become str, as a warm load sees them
    for option, item in entries.items():
        item["sha256"] = {f: hashes.get(f, "") for f in item["files"]}
        item["digest"] = _digest(option, item)
    return entries


def _verified(data, hashes: dict[str, str], tree: ConfTree):
    """The cached entries when every one still matches its files and its digest, else None:
    a damaged or stale cache file is rebuilt. The digests detect damage only; whether the
    file may be read at all is decided by ownership and modes (io/cachedir.py)."""
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return None
    entries = data.get("entries")
    if not isinstance(entries, dict) or list(entries) != _options(hashes, tree):
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


def _options(hashes: dict[str, str], tree: ConfTree) -> list[str]:
    """The model options model_files() would list, from the hashed file names (no glob):
    every catalog root's models (a user conf dir overlays the shipped ones), by name."""
    names: set[str] = set()
    for root in tree.catalog_roots():
        folder = str(root / "model") + os.sep
        names.update(p[len(folder):-len(".yaml")] for p in hashes
                     if p.startswith(folder) and os.sep not in p[len(folder):])
    return sorted(names.difference(PSEUDO_MODELS))


def load_catalog(tree: ConfTree | None = None, use_cache: bool = True) -> dict[str, dict]:
    """The model entries of a conf tree (None: the shipped one), from the cache when it
    verifies against the files."""
    return load_checked(tree, None, use_cache)[0]


def load_checked(tree: ConfTree | None, devices: tuple[str, ...] | None, use_cache: bool = True
                 ) -> tuple[dict[str, dict[str, Any]], dict[str, list[Problem]] | None]:
    """(entries, each entry's schema and catalog-rule problems) for these device names: the
    problems are empty without checking when the cache recorded that the entries passed
    (catalog/check_record.py), else checked here; None when ``devices`` is None."""
    tree = ConfTree.of(tree)
    from spyre_hydra.catalog.check_record import DAMAGED, PASSED, record_state
    from spyre_hydra.catalog.configurator import strict_from_env

    # Trust is the cache dir's owner and modes (io/cachedir.py); the digests below only
    # detect damage, since anyone who can write the cache could recompute them.
    no_cache = not use_cache or os.environ.get("SPYRE_HYDRA_NO_CACHE")
    root = None if no_cache else usable_cache_dir(cache_dir(), strict_from_env())
    if root is None:
        entries = load_entries(tree)
        return entries, _problems(entries, devices)
    hashes = tree.file_hashes()
    cached = root / "catalog" / f"{_fingerprint(tree, hashes)}.json"
    data = _read_cache(cached)
    entries = _verified(data, hashes, tree)
    if entries is not None:
        state = record_state(data.get("checked"), entries, devices)
        if state == PASSED:
            return entries, {option: [] for option in entries}
        if state == DAMAGED:  # else none, or one for other device names or check code
            entries = None
    rebuilt = entries is None
    if rebuilt:
        entries = _seal(load_entries(tree), hashes)
    problems = _problems(entries, devices)
    passed = problems is not None and not any(problems.values())
    if rebuilt or passed:
        _write(cached, root, entries, devices if passed else None)
    return entries, problems


def _problems(entries: dict, devices) -> dict[str, list[Problem]] | None:
    if devices is None:
        return None
    from spyre_hydra.catalog.admission import schema_problems

    return schema_problems(entries, devices)


def _read_cache(cached: Path):
    """The cache file's JSON; None (rebuilt) when it is missing, unreadable, not JSON, a
    symlink or someone else's file. Plain JSON: a cache file can't run code, unlike a pickle."""
    try:
        return json.loads(read_bytes_bounded(cached, what="cache file")) if unsafe_file_reason(
            cached) is None else None
    except (InputError, ValueError):
        return None


def _write(cached: Path, root: Path, entries: dict, passed_with) -> None:
    """The cache file; with the checks-passed record when ``passed_with`` (device names)."""
    from spyre_hydra.catalog.check_record import make_record

    data = {"format": CACHE_FORMAT, "entries": entries}
    if passed_with is not None:
        data["checked"] = make_record(entries, passed_with)
    try:
        write_cache(cached, json.dumps(data), root=root)
    except (OSError, OutputError) as exc:  # a read-only cache only costs speed
        log.debug("catalog cache not written: %s", exc)

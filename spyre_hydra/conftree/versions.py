"""torch_sendnn versions and version-dependent values.

The installed version is read from package metadata only: importing ``torch_sendnn`` captures
environment variables at import time, which would freeze settings before we apply them.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from spyre_hydra.errors import VersionError

NOT_INSTALLED = "not installed"
#: Distribution names under which torch_sendnn has been published.
SENDNN_DISTRIBUTIONS = ("torch_sendnn", "torch-sendnn")
#: Keys of the plugin's old version-aware mapping, translated to PEP 440 specifiers.
LEGACY_SPECIFIERS = {"torch_sendnn_lt_1_0_3": "<1.0.3"}
DEFAULT_KEY = "default"


def installed_sendnn_version() -> str:
    """The installed torch_sendnn version from package metadata, or ``"not installed"``."""
    for dist in SENDNN_DISTRIBUTIONS:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return NOT_INSTALLED


def parse_version(value: Any) -> Version | None:
    """A :class:`Version`, or None for "not installed" / none / 0.0.0 (which take `default`)."""
    if value is None:
        return None
    text = str(value).strip()
    if text.lower() in {NOT_INSTALLED, "none", "", "null"}:
        return None
    try:
        version = Version(text)
    except InvalidVersion:
        raise VersionError(
            f"sendnn_version.version={text!r} is not a PEP 440 version. Valid: a version such "
            "as 1.0.2 or 1.0.3, 'none' (not installed) or the option sendnn_version=auto. "
            "Fix: sendnn_version=1.0.3 or sendnn_version.version=1.0.3"
        ) from None
    return None if version == Version("0.0.0") else version


def _specifier(key: str, where: str) -> SpecifierSet:
    text = LEGACY_SPECIFIERS.get(key, key)
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise VersionError(
            f"{where}: key {key!r} is not a PEP 440 specifier set. Valid: 'default', "
            f"{', '.join(repr(k) for k in LEGACY_SPECIFIERS)} or specifiers such as '<1.0.3' "
            "or '>=1.0.3,<1.1'. Fix: rename the key."
        ) from None


def check_block_override(value: Any, where: str = "num_gpu_blocks_override") -> list[str]:
    """Problems with a block override's shape (int, or mapping of specifiers to ints)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return [] if value is None or value > 0 else [f"{where}: {value} must be positive"]
    if not isinstance(value, Mapping):
        return [f"{where}: {value!r} must be an int or a mapping of version specifiers to ints"]
    problems = []
    specs = {}
    for key, blocks in value.items():
        if key != DEFAULT_KEY:
            try:
                specs[key] = _specifier(str(key), where)
            except VersionError as exc:
                problems.append(str(exc))
        if not isinstance(blocks, int) or isinstance(blocks, bool) or blocks <= 0:
            problems.append(f"{where}.{key}: {blocks!r} must be a positive int")
    overlap = _overlap(specs)
    if overlap:
        problems.append(
            f"{where}: torch_sendnn {overlap[0]} matches both {overlap[1]!r} and {overlap[2]!r}. "
            "A model file's mapping is merged key by key with its family's, so the family's "
            "keys are still there. Fix: make the specifiers disjoint (reuse the family's keys, "
            "or put the new scheme in its own family base).")
    return problems


def _overlap(specs: dict) -> tuple | None:
    """A version that two specifier sets both contain, probed around every boundary."""
    probes = {Version("0.0.1"), Version("999")}
    for spec_set in specs.values():
        for spec in spec_set:
            try:
                edge = Version(spec.version.replace(".*", ""))
            except InvalidVersion:
                continue
            release = list(edge.release)
            below = release[:-1] + [release[-1] - 1] if release[-1] > 0 else release + [0]
            probes |= {edge, Version(".".join(map(str, release + [1]))),
                       Version(".".join(map(str, below)) + ".99")}
    keys = list(specs)
    for probe in sorted(probes):
        hits = [k for k in keys if probe in specs[k]]
        if len(hits) > 1:
            return str(probe), hits[0], hits[1]
    return None


def select_block_override(value: Any, version: Any, where: str = "num_gpu_blocks_override"):
    """Pick the block count for ``version`` from an int or a specifier mapping.

    The mapping's specifiers are tried against the version; exactly one may match, and with
    none matching (or no version installed) the ``default`` key applies. Overlapping
    specifiers are a catalog bug, so they are refused rather than resolved by order.
    """
    if value is None or isinstance(value, int):
        return value
    problems = check_block_override(value, where)
    if problems:
        raise VersionError("; ".join(problems))
    parsed = parse_version(version)
    if parsed is not None:
        hits = [k for k in value if k != DEFAULT_KEY and parsed in _specifier(str(k), where)]
        if len(hits) > 1:
            raise VersionError(
                f"{where}: version {parsed} matches several specifiers {hits}; the catalog "
                "must not overlap. Fix: make the specifier sets disjoint."
            )
        if hits:
            return int(value[hits[0]])
    if DEFAULT_KEY not in value:
        raise VersionError(
            f"{where}: no entry for torch_sendnn {version} and no 'default' key in "
            f"{dict(value)}. Fix: add 'default: <blocks>' to the mapping."
        )
    return int(value[DEFAULT_KEY])

"""Pattern matching of HF configs against catalog architecture patterns.

Semantics kept from the plugin: model_type must be equal; every other pattern attribute must
exist on the HF config and be ==; dict-valued attributes (quantization_config as a dict,
text_config/vision_config as sub-objects) match by subset, one level deep; extra HF
attributes are ignored. Among matches the most specific pattern wins (see
:func:`field_count`); ties go to the higher `priority`, then to the earlier entry (the
Pattern and its rank: catalog/pattern.py). Patterns are indexed by model_type, so a lookup
only visits patterns of that type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from spyre_hydra.catalog.pattern import Pattern, field_count  # noqa: F401 - re-exported

log = logging.getLogger(__name__)
_ABSENT = object()


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, _ABSENT)
    return getattr(obj, key, _ABSENT)


#: A bucket this small is scanned; a bigger one is split on an attribute's value.
LEAF_SIZE = 16


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return not isinstance(value, Mapping)


def _split(patterns: list[Pattern], used: frozenset = frozenset()):
    """A rank-sorted list, or (key, {value: subtree}, rest) where `rest` holds the patterns
    without a scalar `key`. A pattern is only left out of a subtree when its value for `key`
    differs from the HF config's (or the config lacks `key`), so it could not match anyway."""
    if len(patterns) <= LEAF_SIZE:
        return patterns
    counts: dict[str, int] = {}
    for p in patterns:
        for k, v in p.attributes.items():
            if k not in used and _hashable(v):
                counts[k] = counts.get(k, 0) + 1
    if not counts:
        return patterns
    key = max(counts, key=lambda k: (counts[k], k))
    by_value: dict[Any, list[Pattern]] = {}
    rest = []
    for p in patterns:
        v = p.attributes.get(key, _ABSENT)
        (by_value.setdefault(v, []) if v is not _ABSENT and _hashable(v) else rest).append(p)
    used = used | {key}
    return key, {v: _split(ps, used) for v, ps in by_value.items()}, _split(rest, used)


def _leaves(node, hf_config: Any, out: list) -> list:
    """The rank-sorted lists of `node` that may hold a pattern matching `hf_config`."""
    while not isinstance(node, list):
        key, by_value, rest = node
        value = _get(hf_config, key)
        if value is not _ABSENT and _hashable(value) and value in by_value:
            _leaves(by_value[value], hf_config, out)
        node = rest
    out.append(node)
    return out


class ModelMatcher:
    """Matches HF configs (objects or dicts) against patterns indexed by model_type, and
    within a large model_type by attribute values (10,000 patterns of one type match in
    microseconds instead of a scan)."""

    def __init__(self, patterns: Iterable[Pattern] = ()):
        self._by_type: dict[str, list[Pattern]] = {}
        for pattern in patterns:
            self._by_type.setdefault(pattern.model_type, []).append(pattern)
        for bucket in self._by_type.values():
            bucket.sort(key=lambda p: p.rank)  # best first: a lookup stops at the first hit
        self._trees = {t: _split(bucket) for t, bucket in self._by_type.items()}

    @staticmethod
    def matches(hf_config: Any, pattern: Pattern) -> bool:
        """True when ``hf_config`` satisfies every attribute of ``pattern``."""
        if _get(hf_config, "model_type") != pattern.model_type:
            return False
        for key, expected in pattern.attributes.items():
            actual = _get(hf_config, key)
            if actual is _ABSENT:
                log.debug("%s: HF config missing attribute %r", pattern.name, key)
                return False
            if isinstance(expected, Mapping):
                for sub_key, sub_expected in expected.items():
                    if _get(actual, sub_key) != sub_expected:
                        log.debug("%s: %s.%s differs", pattern.name, key, sub_key)
                        return False
            elif actual != expected:
                log.debug("%s: %s=%r, pattern wants %r", pattern.name, key, actual, expected)
                return False
        return True

    def _candidates(self, hf_config: Any) -> list[list[Pattern]]:
        model_type = _get(hf_config, "model_type")
        # a malformed config.json may hold any JSON here; only a string can match
        tree = self._trees.get(model_type) if isinstance(model_type, str) else None
        return [] if tree is None else _leaves(tree, hf_config, [])

    def all_matches(self, hf_config: Any) -> list[Pattern]:
        """Every matching pattern, best first."""
        found = [p for leaf in self._candidates(hf_config) for p in leaf
                 if self.matches(hf_config, p)]
        return sorted(found, key=lambda p: p.rank)

    def best(self, hf_config: Any) -> Pattern | None:
        """The winning pattern, or None."""
        best = None
        for leaf in self._candidates(hf_config):
            for pattern in leaf:  # each leaf is rank-sorted: its first hit is its best
                if best is not None and pattern.rank >= best.rank:
                    break
                if self.matches(hf_config, pattern):
                    best = pattern
                    break
        return best

    def patterns(self) -> list[Pattern]:
        return [p for bucket in self._by_type.values() for p in bucket]

    def diagnostics(self) -> list[str]:
        """Ties (identical patterns) and refinements (a pattern that adds scalar attributes
        to another's, so the other's checkpoints carrying those values are taken by it).
        Only pairs where one pattern contains the other can be either; they are found
        through an index of attribute values (a 5,000-model catalog of one model_type has
        12.5 million pairs), then reported in pair order as a scan of every pair would."""
        notes = []
        for bucket in self._by_type.values():
            for i, j in _containing_pairs(bucket):
                a, b = bucket[i], bucket[j]
                if dict(a.attributes) == dict(b.attributes):
                    notes.append(f"tie: {a.name} and {b.name} have identical patterns; "
                                 f"{a.name} wins (priority {a.priority} vs {b.priority}, "
                                 f"then catalog order). Give them distinguishing attributes "
                                 f"or set priority.")
                    continue
                for wide, narrow in ((a, b), (b, a)):
                    extra = _refines(wide, narrow)
                    if extra:
                        notes.append(f"shadow: {wide.name} refines {narrow.name} with "
                                     f"{extra}; a {narrow.name} checkpoint whose config has "
                                     f"those values is matched as {wide.name}.")
        return notes


def _features(pattern: Pattern) -> set:
    """What a pattern containing this one must also have: each scalar attribute's value,
    each dict attribute's key and sub-values (unhashable values: just the key)."""
    out = set()
    for key, value in pattern.attributes.items():
        if isinstance(value, Mapping):
            out.add(("dict", key))
            out.update(("sub", key, k, v) for k, v in value.items() if _hashable(v))
        elif _hashable(value):
            out.add(("value", key, value))
        else:
            out.add(("key", key))
    return out


def _containing_pairs(bucket: list[Pattern]) -> list[tuple[int, int]]:
    """Sorted index pairs (i < j) where one pattern may contain the other (a superset of
    the pairs that tie or refine; _refines and == decide)."""
    features = [_features(p) for p in bucket]
    postings: dict[Any, set[int]] = {}
    for index, found in enumerate(features):
        for feature in found:
            postings.setdefault(feature, set()).add(index)
    everyone = set(range(len(bucket)))
    pairs = set()
    for narrow, found in enumerate(features):
        lists = sorted((postings[f] for f in found), key=len)
        wide = set(lists[0]) if lists else set(everyone)
        for more in lists[1:]:
            wide &= more
            if len(wide) <= 1:
                break
        wide.discard(narrow)
        pairs.update((min(narrow, w), max(narrow, w)) for w in wide)
    return sorted(pairs)


def _refines(wide: Pattern, narrow: Pattern) -> dict:
    """Scalar attributes `wide` adds to `narrow`, when `wide` ⊇ `narrow` (else {})."""
    for key, val in narrow.attributes.items():
        other = wide.attributes.get(key, _ABSENT)
        if isinstance(val, Mapping):
            if not isinstance(other, Mapping) or any(other.get(k, _ABSENT) != v
                                                     for k, v in val.items()):
                return {}
        elif other != val:
            return {}
    extra = {k: v for k, v in wide.attributes.items()
             if k not in narrow.attributes and not isinstance(v, Mapping)}
    return extra

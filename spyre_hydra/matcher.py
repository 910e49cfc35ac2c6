"""Pattern matching of HF configs against catalog architecture patterns.

Semantics kept from the plugin: model_type must be equal; every other pattern attribute must
exist on the HF config and be ==; dict-valued attributes (quantization_config as a dict,
text_config/vision_config as sub-objects) match by subset, one level deep; extra HF
attributes are ignored. Among matches the most specific pattern wins (see
:func:`field_count`); ties go to the higher `priority`, then to the earlier entry.
Patterns are indexed by model_type, so a lookup only visits patterns of that type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
_ABSENT = object()


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, _ABSENT)
    return getattr(obj, key, _ABSENT)


def field_count(attributes: Mapping[str, Any]) -> int:
    """Specificity: one per attribute (model_type excluded) plus one per key of a dict value."""
    return len(attributes) + sum(len(v) for v in attributes.values() if isinstance(v, Mapping))


@dataclass(frozen=True)
class Pattern:
    """A model's architecture pattern, ready to match."""

    name: str
    model_type: str
    attributes: Mapping[str, Any]
    priority: int = 0
    order: int = 0

    @property
    def field_count(self) -> int:
        return field_count(self.attributes)

    @property
    def rank(self) -> tuple:
        return (-self.field_count, -self.priority, self.order)

    @classmethod
    def from_architecture(cls, name: str, arch: Mapping[str, Any], priority=0, order=0):
        attrs = {k: v for k, v in arch.items() if k != "model_type"}
        return cls(name, arch["model_type"], attrs, priority, order)


class ModelMatcher:
    """Matches HF configs (objects or dicts) against patterns indexed by model_type."""

    def __init__(self, patterns: Iterable[Pattern] = ()):
        self._by_type: dict[str, list[Pattern]] = {}
        for pattern in patterns:
            self._by_type.setdefault(pattern.model_type, []).append(pattern)
        for bucket in self._by_type.values():
            bucket.sort(key=lambda p: p.rank)  # best first: a lookup stops at the first hit

    @staticmethod
    def matches(hf_config: Any, pattern: Pattern) -> bool:
        """True when ``hf_config`` satisfies every attribute of ``pattern``."""
        if _get(hf_config, "model_type") != pattern.model_type:
            return False
        for key, expected in pattern.attributes.items():
            actual = _get(hf_config, key)
            if actual is _ABSENT:
                log.debug("%s: HF config has no %r", pattern.name, key)
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

    def all_matches(self, hf_config: Any) -> list[Pattern]:
        """Every matching pattern, best first."""
        bucket = self._by_type.get(_get(hf_config, "model_type"), [])
        return [p for p in bucket if self.matches(hf_config, p)]

    def best(self, hf_config: Any) -> Pattern | None:
        """The winning pattern, or None."""
        for pattern in self._by_type.get(_get(hf_config, "model_type"), []):
            if self.matches(hf_config, pattern):
                return pattern
        return None

    def patterns(self) -> list[Pattern]:
        return [p for bucket in self._by_type.values() for p in bucket]

    def diagnostics(self) -> list[str]:
        """Ties (identical patterns) and refinements (a pattern that adds scalar attributes
        to another's, so the other's checkpoints carrying those values are taken by it)."""
        notes = []
        for bucket in self._by_type.values():
            for i, a in enumerate(bucket):
                for b in bucket[i + 1:]:
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

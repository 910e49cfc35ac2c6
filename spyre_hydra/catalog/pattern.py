"""A model's architecture pattern, and how specific it is.

A Pattern is what catalog/matcher.py matches an HF config against: the model_type plus the
other attributes of a model's `architecture`. Its rank orders matches: the most specific
pattern first (:func:`field_count`), then the higher `priority`, then the earlier entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
    def model_name(self) -> str:
        """The plugin's name for `name` (ArchitecturePattern.model_name)."""
        return self.name

    @property
    def rank(self) -> tuple:
        return (-self.field_count, -self.priority, self.order)

    @classmethod
    def from_architecture(cls, name: str, arch: Mapping[str, Any], priority=0, order=0):
        attrs = {k: v for k, v in arch.items() if k != "model_type"}
        return cls(name, arch["model_type"], attrs, priority, order)


__all__ = ["Pattern", "field_count"]

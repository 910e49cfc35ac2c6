"""Builtin checkpoints (`model.path=builtin:tiny_<kind>`): the names a plan may use.

The engine package builds them (spyre_hydra.engine.tiny_model); the plan only needs the
names, so they live here, below both.
"""

from __future__ import annotations

BUILTIN = "builtin:"
#: Tiny random-weight models the engine can build locally (no hub).
KINDS = ("granite", "llama")


def builtin_kind(path: str) -> str | None:
    """The kind of a `builtin:tiny_<kind>` path (None when it names no builtin kind)."""
    kind = str(path)[len(BUILTIN):].removeprefix("tiny_")
    return kind if str(path).startswith(BUILTIN) and kind in KINDS else None


def builtin_names() -> list[str]:
    """Every builtin checkpoint path."""
    return [f"{BUILTIN}tiny_{k}" for k in KINDS]


__all__ = ["BUILTIN", "KINDS", "builtin_kind", "builtin_names"]

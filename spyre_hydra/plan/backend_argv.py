"""spyre-launch pre-flight for the backend: `backend=auto` (or no backend) made explicit.

The plan then shows the backend that will run and its env. Detection is the backend
table's (spyre_hydra.conftree.backends): package metadata only, never an import.
"""

from __future__ import annotations

from spyre_hydra.conftree.backends import detect_backend
from spyre_hydra.io.reading import load_yaml


def sweep_sets_backend(parsed, tree) -> bool:
    """True when a chosen sweep file's hydra.sweeper.params names the backend: a command-line
    backend=... would silently override it (Hydra's basic sweeper ranks argv last)."""
    for ov in parsed:
        if ov.key_or_group != "sweep" or ov.is_delete():
            continue
        values = list(ov.sweep_string_iterator()) if ov.is_sweep_override() else [ov.value()]
        for value in values:
            path = tree.find("sweep", value)
            data = load_yaml(path, what="sweep file") if path else None
            params = (((data or {}).get("hydra") or {}).get("sweeper") or {}).get("params") or {}
            if "backend" in params:
                return True
    return False


def resolve_auto_backend(argv: list[str], parsed, overrides: list[str], tree) -> list[str]:
    """argv with backend=auto (or no backend at all) replaced by backend=<detected>.

    The new override goes right after the existing ones: Hydra's argparse takes overrides
    as one positional run, so one appended after an option (--cfg job) would be refused.
    """
    given = [ov for ov in parsed if ov.key_or_group == "backend" and not ov.is_delete()]
    detected = None
    out = list(argv)
    for ov in given:
        if ov.is_sweep_override() and type(ov.value()).__name__ == "Glob":
            continue
        items = list(ov.sweep_string_iterator()) if ov.is_sweep_override() else [str(ov.value())]
        if "auto" in items:
            detected = detected or detect_backend(tree)
            text = "backend=" + ",".join(detected if i == "auto" else i for i in items)
            out = [text if a == ov.input_line else a for a in out]
    if given or sweep_sets_backend(parsed, tree):
        return out
    where = out.index(overrides[-1]) + 1 if overrides and overrides[-1] in out else 0
    return [*out[:where], f"backend={detect_backend(tree)}", *out[where:]]


__all__ = ["resolve_auto_backend", "sweep_sets_backend"]

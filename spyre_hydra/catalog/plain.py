"""A composed tree as plain data, before its types are checked (catalog/validate.py).

Interpolations are resolved key by key, so one failing ${...} becomes a Problem naming its key
instead of hiding the rest of the tree; a missing value (???) stays as MISSING for the type
walk to report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from spyre_hydra.errors import Problem, SpyreHydraError

#: key -> the file that set it ("" when unknown): where a Problem says to look.
Sources = Callable[[str], str]
#: A missing value (OmegaConf's ???) as child() gives it.
MISSING = "???"


def to_plain(node: Any, path: str, problems: list[Problem], sources: Sources) -> Any:
    """Resolve a DictConfig/ListConfig to plain data, recording failing interpolations."""
    if not isinstance(node, (DictConfig, ListConfig)):
        return node
    try:
        return OmegaConf.to_container(node, resolve=True, throw_on_missing=False)
    except Exception:  # noqa: BLE001 - narrowed below, key by key
        pass
    if isinstance(node, ListConfig):
        keys = range(len(node))
    else:
        keys = list(node.keys())
    out: Any = [] if isinstance(node, ListConfig) else {}
    for key in keys:
        sub = f"{path}.{key}" if path else str(key)
        try:  # key by key, so one bad leaf doesn't hide the rest
            value = to_plain(child(node, key), sub, problems, sources)
        except Exception as exc:  # noqa: BLE001 - reported as a problem, with its cause
            cause = exc.__cause__ if isinstance(exc.__cause__, SpyreHydraError) else exc
            msg = str(cause).split("\n    full_key")[0].strip()
            problems.append(Problem(sub, f"cannot be resolved: {msg}.", sources(sub),
                                    f"give {sub} a plain value, or point its ${{...}} at a "
                                    "key that exists (spyre-launch --cfg job shows the tree)"))
            value = None
        if isinstance(out, list):
            out.append(value)
        else:
            out[key] = value
    return out


def child(node: DictConfig | ListConfig, key: Any) -> Any:
    """node[key] with a missing value as "???" (reported by the type walk, not as an
    error); a container child comes back unresolved, a leaf interpolation resolved."""
    if OmegaConf.is_missing(node, key):
        return MISSING
    return node[key]


__all__ = ["MISSING", "Sources", "child", "to_plain"]

"""A model's `configurator:` node, read as data before any of its code is imported.

Which model and file the node belongs to, its `_target_` checked for form (a dotted class
name, no Hydra instantiate keys: nothing here goes through hydra.utils.instantiate), the
keyword arguments it gives, and the error a bad node raises. Importing, checking and building
the class is catalog/configurator.py's (configurator_class, make_configurator).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spyre_hydra.errors import ConfigValidationError, Problem


def describe(model, where: str | None) -> tuple[str, Any, str, str]:
    """(model name, configurator node, key prefix, file) of a ModelEntry or a model tree."""
    if isinstance(model, Mapping):  # a composed model node: the caller knows its file
        return model["hf_id"], model.get("configurator"), "model", where or "the model file"
    return (model.name, model.configurator, model.option,
            where or (model.files or [f"conf/model/{model.option}.yaml"])[-1])


def target_problem(key: str, where: str, message: str, fix: str,
                   summary: str = "invalid configurator") -> ConfigValidationError:
    """The error of a node whose `_target_` cannot be used, at `<key>.configurator._target_`."""
    return ConfigValidationError([Problem(f"{key}.configurator._target_", message, where, fix)],
                                 summary)


def checked_target(spec: Any, key: str, where: str) -> str:
    """The dotted class name the node names, refused (target_problem) unless it is one and the
    node has no other `_`-keys."""
    target = spec.get("_target_") if isinstance(spec, Mapping) else None
    if not isinstance(target, str) or not target:
        raise target_problem(key, where, f"{spec!r} names no class.", "configurator: "
                             "{_target_: my_pkg.MyConfigurator} (a ModelConfigurator "
                             "subclass), or drop the key")
    if len(target) > 200 or len(target.split(".")) < 2 or not all(
            p.isidentifier() for p in target.split(".")):
        raise target_problem(key, where, f"{target[:80]!r} is not a dotted class name.",
                             "name the class as my_pkg.module.MyConfigurator")
    underscored = sorted(str(k) for k in spec if str(k).startswith("_") and k != "_target_")
    if underscored:
        raise target_problem(key, where, f"{underscored} are Hydra instantiate keys, not read "
                             "here.", "give only keyword arguments of the class's __init__")
    return target


def keyword_arguments(spec: Mapping) -> dict[str, Any]:
    """The node's other keys: plain data for the class's __init__ (a nested `_target_` is
    never called)."""
    return {k: v for k, v in spec.items() if k != "_target_"}


def first_line(exc: BaseException) -> str:
    """An exception of user code, in one line for a Problem's message."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0].rstrip('.') if lines else 'no message'}"


__all__ = ["checked_target", "describe", "first_line", "keyword_arguments", "target_problem"]

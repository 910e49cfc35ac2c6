"""Collect every problem of a tree against the schema dataclasses, then raise once.

Two layers: a generic walk that checks keys and types against :mod:`spyre_hydra.conftree.schema`, and
the catalog rules a type cannot express (in :mod:`spyre_hydra.catalog.rules`: no None in a pattern,
no duplicate runtime entries, positive sizes, at least one runtime entry).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from spyre_hydra.catalog.rules import _close, check_model, check_shapes  # noqa: F401 - part of this module's API
from spyre_hydra.conftree import schema
from spyre_hydra.errors import ConfigValidationError, Problem, SpyreHydraError

Sources = Callable[[str], str]
_MISSING = "???"


def _no_source(_key: str) -> str:
    return ""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


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
        return _MISSING
    return node[key]


def check_type(value: Any, tp: Any, path: str, sources: Sources) -> list[Problem]:
    """Problems of ``value`` against the type hint ``tp`` (dataclass, Optional, List, Dict)."""
    origin = typing.get_origin(tp)
    if value == _MISSING:
        return [Problem(path, "required value is missing (???).", sources(path),
                        f"set it, e.g. {path}=<{_type_name(tp)}>")]
    if tp is Any:
        return []
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return [] if value is None else check_type(value, args[0], path, sources)
    if value is None:
        return [Problem(path, f"must be a {_type_name(tp)}, not null.", sources(path),
                        f"set it, e.g. {path}=<{_type_name(tp)}>")]
    if dataclasses.is_dataclass(tp):
        return check_dataclass(value, tp, path, sources)
    if origin in (list, typing.List):
        if not isinstance(value, list):
            return [Problem(path, f"{value!r} must be a list.", sources(path),
                            f"write a list, e.g. {path}=[...]")]
        (item,) = typing.get_args(tp)
        return [p for i, v in enumerate(value) for p in check_type(v, item, f"{path}[{i}]", sources)]
    if origin in (dict, typing.Dict):
        if not isinstance(value, Mapping):
            return [Problem(path, f"{value!r} must be a mapping.", sources(path),
                            f"write a mapping, e.g. {path}={{key: value}}")]
        _, item = typing.get_args(tp)
        return [p for k, v in value.items() for p in check_type(v, item, f"{path}.{k}", sources)]
    ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        return [Problem(path, f"{value!r} is not a valid {_type_name(tp)}.", sources(path),
                        f"give {_article(tp)} {_type_name(tp)}, e.g. {path}={_example(tp)}")]
    return []


def _article(tp: Any) -> str:
    return "an" if _type_name(tp)[:1] in "aeiou" else "a"


def _example(tp: Any) -> str:
    return {int: "32", bool: "true", str: "text", float: "1.0"}.get(tp, "...")


@functools.lru_cache(maxsize=None)
def _fields(cls: type) -> tuple[dict, dict]:
    # get_type_hints compiles the string annotations on every call: half a warm load
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


#: Unknown keys named one by one in a mapping; the rest are counted.
_MAX_UNKNOWN = 5


def _key_text(key: Any) -> str:
    """A key as a message shows it: a plain short name as is, anything else as a short
    escaped excerpt (a file's text never reaches the terminal raw)."""
    from spyre_hydra.conftree.confine import excerpt

    text = str(key)
    plain = len(text) <= 40 and all(c.isalnum() or c in "_-." for c in text)
    return text if plain else excerpt(text)


def check_dataclass(value: Any, cls: type, path: str, sources: Sources) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [Problem(path or "<root>", f"{value!r} must be a mapping of {cls.__name__} fields.",
                        sources(path), "give key: value entries (spyre-hydra schema lists the "
                        "fields)")]
    hints, fields = _fields(cls)
    problems = []
    unknown = [key for key in value if key not in fields]
    for key in unknown[:_MAX_UNKNOWN]:
        name = _key_text(key)
        sub = f"{path}.{name}" if path else name
        problems.append(Problem(sub, f"unknown key. Valid keys: {', '.join(fields)}."
                                + (_close(key, fields) if name == key else ""), sources(sub),
                                "remove it or correct its name"))
    if len(unknown) > _MAX_UNKNOWN:  # a file that is not a conf file (a link to /etc/...)
        problems.append(Problem(path or "<root>", f"and {len(unknown) - _MAX_UNKNOWN} more "
                                "unknown keys (not shown).", sources(path),
                                "check that this is the conf file you meant"))
    for name, fld in fields.items():
        sub = f"{path}.{name}" if path else name
        if name not in value:
            required = fld.default == _MISSING or (
                fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING)
            if required:
                problems.append(Problem(sub, "required key is missing.", sources(sub),
                                        f"add {name}: <{_type_name(hints[name])}>"))
            continue
        problems += check_type(value[name], hints[name], sub, sources)
    return problems


#: Keys every launch reads: the shipped tree always has them, so only a deletion on the
#: command line (~runtime, ~serve.port) can remove them.
PRESENT = ("runtime.name", "device.name", "device.tp_size", "serve.host", "serve.port",
           "backend.name", "sendnn_version.version", "model.hf_id")


def _deleted(tree: Mapping, sources: Sources) -> list[Problem]:
    keys = [f.name for f in dataclasses.fields(schema.LaunchConfig)]
    gone = [k for k in keys if k not in tree]
    gone += [k for k in PRESENT if k.split(".")[0] not in gone and isinstance(
        tree.get(k.split(".")[0]), Mapping) and k.split(".")[1] not in tree[k.split(".")[0]]]
    return [Problem(k, "was deleted, but every launch needs it.", sources(k),
                    f"drop ~{k} from the command line (override its value instead, e.g. "
                    f"{k}=...)") for k in gone]


def validate_tree(tree: Mapping, sources: Sources = _no_source, devices=()) -> None:
    """Check a composed launch tree (plain data) and raise one error listing every problem."""
    deleted = _deleted(tree, sources)
    if deleted:
        raise ConfigValidationError(deleted)
    problems = check_dataclass(tree, schema.LaunchConfig, "", sources)
    model = tree.get("model")
    if isinstance(model, Mapping):
        typed = {p.key for p in problems}  # one message per key: the type error wins
        problems += [p for p in check_model(model, "model", sources, devices)
                     if p.key not in typed]
    if problems:
        raise ConfigValidationError(problems)

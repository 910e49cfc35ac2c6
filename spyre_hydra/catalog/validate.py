"""Collect every problem of a tree against the schema dataclasses, then raise once.

The tree is plain data (:mod:`spyre_hydra.catalog.plain` resolves a composed one). Two layers:
a generic walk that checks keys and types against :mod:`spyre_hydra.conftree.schema`, and
the catalog rules a type cannot express (in :mod:`spyre_hydra.catalog.rules`: no None in a pattern,
no duplicate runtime entries, positive sizes, at least one runtime entry).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Mapping
from typing import Any

from spyre_hydra.catalog.plain import MISSING, Sources
from spyre_hydra.catalog.rules import _close, check_model, check_shapes  # noqa: F401 - part of this module's API
from spyre_hydra.conftree import schema
from spyre_hydra.errors import ConfigValidationError, Problem


def _no_source(_key: str) -> str:
    return ""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


@functools.lru_cache(maxsize=None)
def _hint(tp: Any) -> tuple[Any, tuple]:
    # typing.get_origin/get_args per value were a third of a 5,000-model warm load
    return typing.get_origin(tp), typing.get_args(tp)


def _items(pairs, item: Any, path: str, sources: Sources) -> list[Problem]:
    if item is Any:  # only a missing value (???) can be wrong; skip the call per item
        pairs = [(sub, v) for sub, v in pairs if isinstance(v, str) and v == MISSING]
    return [p for sub, v in pairs for p in check_type(v, item, sub, sources)]


def check_type(value: Any, tp: Any, path: str, sources: Sources) -> list[Problem]:
    """Problems of ``value`` against the type hint ``tp`` (dataclass, Optional, List, Dict)."""
    origin, hint_args = _hint(tp)
    if value == MISSING:
        return [Problem(path, "required value is missing (???).", sources(path),
                        f"set it, e.g. {path}=<{_type_name(tp)}>")]
    if tp is Any:
        return []
    if origin is typing.Union:
        args = [a for a in hint_args if a is not type(None)]
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
        (item,) = hint_args
        return _items(((f"{path}[{i}]", v) for i, v in enumerate(value)), item, path, sources)
    if origin in (dict, typing.Dict):
        if not isinstance(value, Mapping):
            return [Problem(path, f"{value!r} must be a mapping.", sources(path),
                            f"write a mapping, e.g. {path}={{key: value}}")]
        _, item = hint_args
        return _items(((f"{path}.{k}", v) for k, v in value.items()), item, path, sources)
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
            required = fld.default == MISSING or (
                fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING)
            if required:
                problems.append(Problem(sub, "required key is missing.", sources(sub),
                                        f"add {name}: <{_type_name(hints[name])}>"))
            continue
        problems += check_type(value[name], hints[name], sub, sources)
    return problems


#: Keys of open sections (typed Any or Dict[str, Any] in the schema, so that other tools may
#: add keys) whose meaning is a string, a number or a flag. A YAML/Hydra `true` where a
#: string or number is meant would become "True" or 1 without a word, so it is refused.
MEANT = {
    "backend.env.*": "str-or-number",
    "bench.num_prompts": "int", "bench.max_concurrency": "int", "bench.prompt_len": "int",
    "bench.new_tokens": "int", "bench.request_rate": "number", "bench.server_timeout_s": "number",
    "sweep.repeats": "int", "sweep.max_points": "int",
    "sweep.skip_unsupported": "bool", "sweep.resume": "bool", "sweep.explore": "bool",
}
_MEANT_TEXT = {"str-or-number": "a string or a number", "int": "an integer",
               "number": "a number", "bool": "true or false"}
_MEANT_EXAMPLE = {"str-or-number": '"<value>"', "int": "4", "number": "1.5", "bool": "true"}


def _meant_ok(value: Any, kind: str) -> bool:
    if value is None:
        return kind != "str-or-number"  # null means "the default" in bench/sweep
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int)
    if kind == "number":
        return isinstance(value, (int, float)) or value == "inf"
    return isinstance(value, (str, int, float))


def meant_problems(tree: Mapping, sources: Sources = _no_source) -> list[Problem]:
    """Values of MEANT keys that are not what the key means (a bool for a string, ...)."""
    problems = []
    for pattern, kind in MEANT.items():
        section, _, leaf = pattern.rpartition(".")
        head, _, sub = section.partition(".")
        node = tree.get(head) if isinstance(tree, Mapping) else None
        node = node.get(sub) if sub and isinstance(node, Mapping) else node
        if not isinstance(node, Mapping):
            continue
        for key in (list(node) if leaf == "*" else [leaf] if leaf in node else []):
            value, path = node[key], f"{section}.{key}"
            if not _meant_ok(value, kind):
                problems.append(Problem(path, f"{value!r} is not {_MEANT_TEXT[kind]}.",
                                        sources(path), f"{path}={_MEANT_EXAMPLE[kind]}"))
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
    typed = {p.key for p in problems}
    problems += [p for p in meant_problems(tree, sources) if p.key not in typed]
    model = tree.get("model")
    if isinstance(model, Mapping):
        typed = {p.key for p in problems}  # one message per key: the type error wins
        problems += [p for p in check_model(model, "model", sources, devices)
                     if p.key not in typed]
    if problems:
        raise ConfigValidationError(problems)

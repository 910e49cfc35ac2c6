"""Collect every problem of a tree against the schema dataclasses, then raise once.

Two layers: a generic walk that checks keys and types against :mod:`spyre_hydra.schema`, and
the catalog rules a type cannot express (no None in a pattern, no duplicate runtime entries,
positive sizes, at least one runtime entry).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import typing
from collections.abc import Callable, Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from . import schema
from .errors import ConfigValidationError, Problem, SpyreHydraError
from .versions import check_block_override

Sources = Callable[[str], str]
_MISSING = "???"


def _no_source(_key: str) -> str:
    return ""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _close(word: str, options) -> str:
    hits = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" Did you mean {hits[0]!r}?" if hits else ""


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
        try:
            child = node._get_node(key)  # unresolved, so one bad leaf doesn't hide the rest
            value = child if isinstance(child, (DictConfig, ListConfig)) else node[key]
            value = to_plain(value, sub, problems, sources)
        except Exception as exc:  # noqa: BLE001 - reported as a problem, with its cause
            cause = exc.__cause__ if isinstance(exc.__cause__, SpyreHydraError) else exc
            msg = str(cause).split("\n    full_key")[0].strip()
            problems.append(Problem(sub, f"cannot be resolved: {msg}", sources(sub)))
            value = None
        if isinstance(out, list):
            out.append(value)
        else:
            out[key] = value
    return out


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


def check_dataclass(value: Any, cls: type, path: str, sources: Sources) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [Problem(path or "<root>", f"{value!r} must be a mapping of {cls.__name__} fields.",
                        sources(path))]
    hints, fields = _fields(cls)
    problems = []
    for key in value:
        if key not in fields:
            sub = f"{path}.{key}" if path else str(key)
            problems.append(Problem(sub, f"unknown key. Valid keys: {', '.join(fields)}."
                                    + _close(key, fields), sources(sub),
                                    "remove it or correct its name"))
    for name, fld in fields.items():
        sub = f"{path}.{name}" if path else name
        if name not in value:
            required = fld.default is _MISSING or (
                fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING)
            if required:
                problems.append(Problem(sub, "required key is missing.", sources(sub),
                                        f"add {name}: <{_type_name(hints[name])}>"))
            continue
        problems += check_type(value[name], hints[name], sub, sources)
    return problems


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_shapes(shapes: Any, path: str, sources: Sources) -> list[Problem]:
    """[prompt_len, new_tokens, batch_size] triples: positive, new_tokens >= 0, prompt % 64."""
    problems = []
    if not isinstance(shapes, list) or not shapes:
        return [Problem(path, f"{shapes!r} must be a non-empty list of [prompt_len, new_tokens, "
                        "batch_size].", sources(path), f"{path}=[[2048,1024,16]]")]
    for i, shape in enumerate(shapes):
        sub = f"{path}[{i}]"
        if not isinstance(shape, list) or len(shape) != 3 or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in shape):
            problems.append(Problem(sub, f"{shape!r} must be 3 integers [prompt_len, new_tokens, "
                                    "batch_size].", sources(sub), "e.g. [2048, 1024, 16]"))
            continue
        prompt, new, batch = shape
        if prompt <= 0 or batch <= 0 or new < 0:
            problems.append(Problem(sub, f"{shape} needs prompt_len > 0, new_tokens >= 0, "
                                    "batch_size > 0.", sources(sub), "e.g. [2048, 1024, 16]"))
        elif prompt % 64:
            up = (prompt // 64 + 1) * 64
            problems.append(Problem(sub, f"prompt_len {prompt} is not a multiple of 64 (Spyre "
                                    "pads prompts to 64-token blocks).", sources(sub),
                                    f"use {up} or {up - 64 or 64}"))
    return problems


def _check_architecture(arch: Mapping, path: str, sources: Sources) -> list[Problem]:
    problems = []
    if not isinstance(arch.get("model_type"), str) or not arch.get("model_type"):
        problems.append(Problem(f"{path}.model_type", "must be a non-empty string (the HF "
                                "config's model_type).", sources(path)))
    for key, val in arch.items():
        vals = val.items() if isinstance(val, Mapping) else [(None, val)]
        for sub_key, sub_val in vals:
            where = f"{path}.{key}" + (f".{sub_key}" if sub_key is not None else "")
            if sub_val is None:
                problems.append(Problem(where, "is None; a pattern only lists attributes that "
                                        "must match.", sources(where), "remove the key"))
            elif isinstance(sub_val, (Mapping, list)):
                problems.append(Problem(where, "patterns match one level deep only.",
                                        sources(where), "match on scalar attributes"))
    return problems


def _dict(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def check_model(model: Mapping, path: str, sources: Sources, devices=()) -> list[Problem]:
    """Catalog rules for one model entry; badly typed parts are skipped (the type walk
    reports them), so every rule still runs on the rest."""
    problems = _check_architecture(_dict(model.get("architecture")), f"{path}.architecture",
                                   sources)
    cb = _list(model.get("continuous_batching_configs"))
    static = _list(model.get("static_batching_configs"))
    if not cb and not static:
        problems.append(Problem(path, "has no runtime entry.", sources(path),
                                "add continuous_batching_configs or static_batching_configs"))
    seen: dict = {}
    for i, entry in enumerate(cb):
        sub = f"{path}.continuous_batching_configs[{i}]"
        entry = _dict(entry)
        for key in ("tp_size", "max_model_len", "max_num_seqs"):
            if not _positive(entry.get(key)):
                problems.append(Problem(f"{sub}.{key}", f"{entry.get(key)!r} must be a "
                                        "positive integer.", sources(sub),
                                        f"set {key}: <int > 0>"))
        sig = (entry.get("tp_size"), entry.get("max_model_len"), entry.get("max_num_seqs"))
        if not all(_positive(x) for x in sig):
            continue
        if sig in seen:
            problems.append(Problem(sub, f"duplicates entry [{seen[sig]}] (tp_size, max_model_len,"
                                    f" max_num_seqs) = {sig}.", sources(sub), "remove one"))
        seen.setdefault(sig, i)
    seen = {}
    for i, entry in enumerate(static):
        sub = f"{path}.static_batching_configs[{i}]"
        entry = _dict(entry)
        if not _positive(entry.get("tp_size")):
            problems.append(Problem(f"{sub}.tp_size", f"{entry.get('tp_size')!r} must be a "
                                    "positive integer.", sources(sub), "set tp_size: <int > 0>"))
        shapes = entry.get("warmup_shapes")
        shape_problems = check_shapes(shapes, f"{sub}.warmup_shapes", sources)
        problems += shape_problems
        if not shape_problems:
            sig = (entry.get("tp_size"), tuple(sorted(tuple(s) for s in shapes)))
            if sig in seen:
                problems.append(Problem(sub, f"duplicates entry [{seen[sig]}]: same tp_size and "
                                        "the same shapes in another order.", sources(sub),
                                        "remove one"))
            seen.setdefault(sig, i)
    for dev, settings in _dict(model.get("device_configs")).items():
        sub = f"{path}.device_configs.{dev}"
        if devices and dev not in devices:
            problems.append(Problem(sub, f"no device option {dev!r}. Valid: {', '.join(devices)}."
                                    + _close(dev, devices), sources(sub),
                                    "key device_configs by a conf/device option name"))
        settings = _dict(settings)
        for msg in check_block_override(settings.get("num_gpu_blocks_override"),
                                        f"{sub}.num_gpu_blocks_override"):
            problems.append(Problem(sub, msg, sources(sub),
                                    "" if "Fix:" in msg else "use a positive int, or "
                                    "{'<specifier>': int, default: int}"))
        for name, val in _dict(settings.get("env_vars")).items():
            if val is None or isinstance(val, (Mapping, list)):
                problems.append(Problem(f"{sub}.env_vars.{name}", f"{val!r} must be a string or "
                                        "number.", sources(sub), f"{name}: \"<value>\""))
    return problems


def validate_tree(tree: Mapping, sources: Sources = _no_source, devices=()) -> None:
    """Check a composed launch tree (plain data) and raise one error listing every problem."""
    problems = check_dataclass(tree, schema.LaunchConfig, "", sources)
    model = tree.get("model")
    if isinstance(model, Mapping):
        typed = {p.key for p in problems}  # one message per key: the type error wins
        problems += [p for p in check_model(model, "model", sources, devices)
                     if p.key not in typed]
    if problems:
        raise ConfigValidationError(problems)

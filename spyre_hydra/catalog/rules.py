"""Catalog rules a type cannot express: patterns, runtime entries, shapes, device settings.

Each rule returns problems instead of raising, so a file with several mistakes is reported
in one error (see :func:`spyre_hydra.catalog.validate.validate_tree`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from spyre_hydra.catalog.names import hf_id_problem
from spyre_hydra.conftree.versions import check_block_override
from spyre_hydra.errors import Problem
from spyre_hydra.io.literal import env_name_message, is_env_name

Sources = Callable[[str], str]


def _close(word: str, options) -> str:
    """' Did you mean X?' for the closest option, or nothing."""
    import difflib

    hits = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" Did you mean {hits[0]!r}?" if hits else ""


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_shapes(shapes: Any, path: str, sources: Sources, pairs: bool = False) -> list[Problem]:
    """[prompt_len, new_tokens, batch_size] triples (and with `pairs`, the catalog's
    [prompt_len, batch_size]: the plugin's 2-field shape, no new tokens): positive,
    new_tokens >= 0, prompt_len a multiple of 64."""
    problems = []
    if not isinstance(shapes, list) or not shapes:
        return [Problem(path, f"{shapes!r} must be a non-empty list of [prompt_len, new_tokens, "
                        "batch_size].", sources(path), f"{path}=[[2048,1024,16]]")]
    for i, shape in enumerate(shapes):
        sub = f"{path}[{i}]"
        sizes = (2, 3) if pairs else (3,)
        if not isinstance(shape, list) or len(shape) not in sizes or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in shape):
            problems.append(Problem(sub, f"{shape!r} must be 3 integers [prompt_len, new_tokens, "
                                    "batch_size]" + (" or 2 [prompt_len, batch_size]" if pairs
                                                     else "") + ".", sources(sub),
                                    "e.g. [2048, 1024, 16]" + (" or [512, 64]" if pairs else "")))
            continue
        prompt, new, batch = shape if len(shape) == 3 else (shape[0], 0, shape[1])
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
                                "config's model_type).", sources(path),
                                f"set {path}.model_type, e.g. model_type: granite"))
    for key, val in arch.items():
        if not isinstance(key, str):  # an HF config's attributes are named by strings
            problems.append(Problem(f"{path}.{key}", f"{key!r} is not an attribute name.",
                                    sources(path), "name an HF config attribute (a string "
                                    "such as num_hidden_layers)"))
            continue
        vals = val.items() if isinstance(val, Mapping) else [(None, val)]
        for sub_key, sub_val in vals:
            where = f"{path}.{key}" + (f".{sub_key}" if sub_key is not None else "")
            if sub_val is None:
                problems.append(Problem(where, "is None: an attribute cannot be None; a pattern "
                                        "only lists attributes that must match.", sources(where),
                                        "remove the key"))
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
    if hf_id_problem(model.get("hf_id")):  # what vLLM loads: never "", ".." or spaced
        problems.append(Problem(f"{path}.hf_id", hf_id_problem(model.get("hf_id")),
                                sources(f"{path}.hf_id"), "hf_id: org/name, e.g. hf_id: "
                                "ibm-granite/granite-3.3-8b-instruct"))
    cb = _list(model.get("continuous_batching_configs"))
    static = _list(model.get("static_batching_configs"))
    if not cb and not static:
        problems.append(Problem(path, "has no runtime entry: a model must have at least one "
                                "runtime configuration.", sources(path),
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
        if entry.get("device_config") is not None:  # this entry's own settings
            problems += _check_settings(entry["device_config"], f"{sub}.device_config", sources)
        sig = (entry.get("tp_size"), entry.get("max_model_len"), entry.get("max_num_seqs"))
        if not all(_positive(x) for x in sig):
            continue
        if sig in seen:
            problems.append(Problem(sub, f"Duplicate runtime configuration: duplicates entry "
                                    f"[{seen[sig]}] (tp_size, max_model_len, max_num_seqs) = "
                                    f"{sig}.", sources(sub), "remove one"))
        seen.setdefault(sig, i)
    seen = {}
    for i, entry in enumerate(static):
        sub = f"{path}.static_batching_configs[{i}]"
        entry = _dict(entry)
        if not _positive(entry.get("tp_size")):
            problems.append(Problem(f"{sub}.tp_size", f"{entry.get('tp_size')!r} must be a "
                                    "positive integer.", sources(sub), "set tp_size: <int > 0>"))
        shapes = entry.get("warmup_shapes")
        shape_problems = check_shapes(shapes, f"{sub}.warmup_shapes", sources, pairs=True)
        problems += shape_problems
        if not shape_problems:  # new_tokens takes no part in matching (as in the plugin)
            sig = (entry.get("tp_size"), tuple(sorted((s[0], s[-1]) for s in shapes)))
            if sig in seen:
                problems.append(Problem(sub, f"Duplicate runtime configuration: duplicates entry "
                                        f"[{seen[sig]}]: same tp_size and the same (prompt_len, "
                                        "batch_size) shapes, maybe in another order.",
                                        sources(sub), "remove one"))
            seen.setdefault(sig, i)
    for dev, settings in _dict(model.get("device_configs")).items():
        sub = f"{path}.device_configs.{dev}"
        if devices and dev not in devices:
            problems.append(Problem(sub, f"no device option {dev!r}. Valid: {', '.join(devices)}."
                                    + _close(dev, devices), sources(sub),
                                    "key device_configs by a conf/device option name"))
        problems += _check_settings(settings, sub, sources)
    return problems


def _check_settings(settings: Any, sub: str, sources: Sources) -> list[Problem]:
    """A device settings block (a device_configs.<tp> or an entry's device_config); a
    badly typed one is the type walk's finding."""
    problems = []
    settings = _dict(settings)
    for msg in check_block_override(settings.get("num_gpu_blocks_override"),
                                    f"{sub}.num_gpu_blocks_override"):
        problems.append(Problem(sub, msg, sources(sub),
                                "" if "Fix:" in msg else "use a positive int, or "
                                "{'<specifier>': int, default: int}"))
    for name, val in _dict(settings.get("env_vars")).items():
        if not is_env_name(name):  # checked at load: an env.sh must never run it
            problems.append(Problem(f"{sub}.env_vars.{name}", env_name_message(
                name, f"{sub}.env_vars"), sources(sub), "rename it: letters, digits and _ "
                "only, not starting with a digit"))
        if val is None or isinstance(val, (Mapping, list, bool)):  # true would be "True"
            problems.append(Problem(f"{sub}.env_vars.{name}", f"{val!r} must be a string or "
                                    "number.", sources(sub), f"{name}: \"<value>\""))
    return problems


#: The pattern rules alone (the plugin's ArchitecturePattern.from_dict checks).
check_architecture = _check_architecture

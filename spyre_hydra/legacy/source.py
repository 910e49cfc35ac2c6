"""Read a plugin model_configs.yaml (seed or 2.6.3/1.10.0 schema) into this project's schema.

Both schemas end up as the same record: runtime lists, and device settings keyed by device
option (tp<N>), with the anchors each model used (see yamlnodes.py) kept for the layout.
Entries of one tp size whose nested device_configs differ (or one has none) keep theirs as
the entry's own `device_config`, which replaces the tp block for that entry.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spyre_hydra.catalog.names import hf_id_problem
from spyre_hydra.catalog.rules import check_model
from spyre_hydra.conftree.versions import LEGACY_SPECIFIERS
from spyre_hydra.errors import Problem
from spyre_hydra.legacy.yamlnodes import fail, load_nodes

MODEL_KEYS = ("architecture", "platforms", "continuous_batching_configs",
              "static_batching_configs", "supported_configs", "device_configs")
CB_KEYS = ("tp_size", "max_model_len", "max_num_seqs", "device_config")
DEVICE_KEYS = ("env_vars", "num_gpu_blocks_override", "chunked_prefill_config")


@dataclass
class SourceModel:
    """One model of the source file, already in this project's schema."""

    hf_id: str
    line: int
    model: dict                      # architecture, platforms, cb, static, device_configs
    arch_anchor: str | None = None   # the anchor the architecture is, or merges
    device_anchors: dict = field(default_factory=dict)   # tp -> anchor name or None


def _unknown(where: str, key, valid, at: str) -> Problem:
    hint = difflib.get_close_matches(str(key), valid, n=1)
    return Problem(f"{where}.{key}", f"unknown key. Valid: {', '.join(valid)}." +
                   (f" Did you mean {hint[0]!r}?" if hint else ""), at,
                   f"rename it to {hint[0]}" if hint else "remove it")


def _shapes(raw: Any, where: str, src: str, problems: list[Problem]) -> list | None:
    out = []
    for i, shape in enumerate(raw if isinstance(raw, list) else [None]):
        if isinstance(shape, dict) and {"prompt_len", "batch_size"} <= set(shape):
            out.append([shape["prompt_len"], shape.get("new_tokens", 0), shape["batch_size"]])
        elif isinstance(shape, list) and len(shape) == 3:
            out.append(list(shape))
        else:
            problems.append(Problem(f"{where}.warmup_shapes[{i}]", f"{shape!r} is not a warmup "
                                    "shape.", src, "use {prompt_len, new_tokens, batch_size} or "
                                    "[prompt_len, new_tokens, batch_size]"))
            return None
    return out


def _canonical(value: Any) -> str:
    """``value`` as comparable text; a key that is not a string (`5:`, `null:`) is reported
    by the checks, so here it only must not break the comparison."""
    def keyed(v):
        if isinstance(v, dict):
            return {repr(k) if not isinstance(k, str) else k: keyed(x) for k, x in v.items()}
        return [keyed(x) for x in v] if isinstance(v, list) else v
    return json.dumps(keyed(value), sort_keys=True, default=repr)


def _device(raw: Any, where: str, src: str, problems: list[Problem]) -> dict:
    if not isinstance(raw, dict):
        problems.append(Problem(where, f"{raw!r} must be a mapping of {', '.join(DEVICE_KEYS)}.",
                                src, "write the device settings as key: value entries"))
        return {}
    for key in raw:
        if key not in DEVICE_KEYS:
            problems.append(_unknown(where, key, DEVICE_KEYS, src))
    out = {k: raw[k] for k in DEVICE_KEYS if raw.get(k) is not None}
    blocks = out.get("num_gpu_blocks_override")
    if isinstance(blocks, dict):  # the plugin's version key becomes a PEP 440 specifier
        out["num_gpu_blocks_override"] = {LEGACY_SPECIFIERS.get(str(k), str(k)): v
                                          for k, v in blocks.items()}
    return out


def _cb(entry: dict, where: str, src: str, problems: list[Problem], allowed) -> dict:
    for key in entry:
        if key not in allowed:
            problems.append(_unknown(where, key, allowed, src))
    return {k: entry.get(k) for k in ("tp_size", "max_model_len", "max_num_seqs")}


def convert_model(hf_id: str, raw: Any, line: int, src: Path, anchors: tuple) -> tuple:
    """(SourceModel, problems) for one entry of `models:`."""
    where, at = f"models.{hf_id}", f"{src}:{line}"
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        return None, [Problem(where, f"{raw!r} must be a mapping.", at,
                              "write the entry as architecture: ..., *_configs: ...")]
    for key in raw:
        if key not in MODEL_KEYS:
            problems.append(_unknown(where, key, MODEL_KEYS, at))
    arch = raw.get("architecture")
    if not isinstance(arch, dict):
        problems.append(Problem(f"{where}.architecture", f"{arch!r} must be a mapping with "
                                "model_type.", at, "add architecture: {model_type: ...}"))
        arch = {}
    cb, static, devices = [], [], {}
    arch_anchor, dev_anchors = anchors
    by_tp: dict = {}
    entries = raw.get("continuous_batching_configs") or []
    for i, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        sub = f"{where}.continuous_batching_configs[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(sub, f"{entry!r} must be a mapping.", at,
                                    "write each entry as {tp_size: ..., ...}"))
            continue
        cb.append(_cb(entry, sub, at, problems, CB_KEYS))
        dev = _device(entry["device_config"], f"{sub}.device_config", at, problems) if (
            "device_config" in entry) else None
        by_tp.setdefault(entry.get("tp_size"), []).append((len(cb) - 1, dev, dev_anchors.get(i)))
    for i, entry in enumerate(raw.get("static_batching_configs") or []):
        sub = f"{where}.static_batching_configs[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(sub, f"{entry!r} must be a mapping.", at,
                                    "write each entry as {tp_size: ..., ...}"))
            continue
        static.append({"tp_size": entry.get("tp_size"),
                       "warmup_shapes": _shapes(entry.get("warmup_shapes"), sub, at, problems)})
    for i, entry in enumerate(raw.get("supported_configs") or []):
        sub = f"{where}.supported_configs[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("cb"), bool):
            problems.append(Problem(sub, f"{entry!r} needs cb: true or cb: false.", at,
                                    "add cb: true (continuous) or cb: false (static)"))
        elif entry["cb"]:
            cb.append(_cb(entry, sub, at, problems, ("cb", *CB_KEYS[:3])))
        else:
            _cb(entry, sub, at, problems, ("cb", "tp_size", "warmup_shapes"))
            static.append({"tp_size": entry.get("tp_size"),
                           "warmup_shapes": _shapes(entry.get("warmup_shapes"), sub, at, problems)})
    dev_names = {}
    for tp, items in by_tp.items():
        distinct = {_canonical(d) for _, d, _ in items}
        if len(distinct) > 1:  # no one block for tp<N>: each entry keeps its own settings
            for pos, dev, _ in items:
                if dev is not None:
                    cb[pos]["device_config"] = dev
        elif items[0][1] is not None and isinstance(tp, int):
            devices[f"tp{tp}"], dev_names[tp] = items[0][1], items[0][2]
    for tp_key, dev in (raw.get("device_configs") or {}).items():
        tp = int(tp_key) if str(tp_key).isdigit() else None
        if tp is None:
            problems.append(Problem(f"{where}.device_configs.{tp_key}", "must be a tensor "
                                    "parallel size (an integer such as 4).", at,
                                    "name it by its tp size, e.g. 4:"))
            continue
        if f"tp{tp}" in devices:
            problems.append(Problem(f"{where}.device_configs.{tp_key}", "repeats the nested "
                                    "device_config of a tp_size {tp} entry.", at, "keep one"))
        devices[f"tp{tp}"] = _device(dev, f"{where}.device_configs.{tp_key}", at, problems)
        dev_names[tp] = dev_anchors.get(f"seed:{tp_key}")
    platforms = raw.get("platforms")
    if platforms is not None and not (isinstance(platforms, list)
                                      and all(isinstance(x, str) for x in platforms)):
        problems.append(Problem(f"{where}.platforms", f"{platforms!r} must be a list of CPU "
                                "architectures.", at, "e.g. platforms: [x86_64, s390x]"))
        platforms = None
    model = {"architecture": arch, "platforms": [] if platforms is None else platforms,
             "continuous_batching_configs": cb, "static_batching_configs": static,
             "device_configs": devices}
    reported = [p.key for p in problems]  # a bad leaf is reported once, not again below
    problems += [p for p in check_model(model, where, lambda _k: at) if p.key == where or
                 not any(p.key.startswith(r) or r.startswith(p.key) for r in reported)]
    return SourceModel(hf_id, line, model, arch_anchor, dev_names), problems


def read_source(src: Path) -> tuple[list[SourceModel], dict]:
    """(models in source order, anchor -> value); raises one LegacyFormatError."""
    data, nodes, values, problems = load_nodes(src)
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict) or not models:
        problems.append(Problem(f"{src}", "has no `models:` mapping of HF id -> entry.", "",
                                "is this a plugin model_configs.yaml?"))
        raise fail(problems, src)
    out = []
    for hf_id, raw in models.items():
        anchor, devs, line = nodes.get(hf_id, (None, {}, 0))
        if not isinstance(hf_id, str):
            problems.append(Problem(f"models.{hf_id}", "the model key must be an HF id string.",
                                    f"{src}:{line}", "quote it as an org/name string"))
            continue
        if hf_id_problem(hf_id):  # refused before writing, as the catalog load would
            problems.append(Problem(f"models.{hf_id}", hf_id_problem(hf_id), f"{src}:{line}",
                                    "rename the model key to its org/name"))
            continue
        model, found = convert_model(hf_id, raw, line, src, (anchor, devs))
        problems += found
        if model is not None:
            out.append(model)
    if problems:
        raise fail(problems, src)
    return out, values

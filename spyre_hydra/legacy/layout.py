"""Lay imported models out as a conf tree: family bases where the source shares templates.

A YAML anchor used by two or more models becomes a family base (an architecture anchor:
`family/<name>.yaml` with the pattern; a device_config anchor: `family/<name>_device.yaml`
with that device's settings). Models without anchors that share an identical architecture
or device config are grouped the same way. Every model file is its diff over the chain of
bases, checked with the same OmegaConf merge Hydra performs; a model whose diff cannot be
expressed as a merge is written in full over the root base instead.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from dataclasses import dataclass, field

import yaml
from omegaconf import OmegaConf

from spyre_hydra.catalog.matcher import field_count

RUNTIME_KEYS = ("continuous_batching_configs", "static_batching_configs")
ROOT = "base"


def option_name(hf_id: str) -> str:
    """`ibm-granite/granite-3.3-8b-instruct` -> `granite_3_3_8b_instruct`."""
    name = re.sub(r"[^a-z0-9]+", "_", hf_id.rsplit("/", 1)[-1].lower()).strip("_")
    return name or "model"


def unique_names(hf_ids: list[str], reserved=("auto",)) -> list[str]:
    """Short option names, made unique with the org, then a number."""
    taken, out = set(reserved), []
    for hf_id in hf_ids:
        name = option_name(hf_id)
        if name in taken:
            name = re.sub(r"[^a-z0-9]+", "_", hf_id.lower()).strip("_")
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        out.append(name)
    return out


def _compatible(a: dict, b: dict) -> bool:
    """True when one HF config could satisfy both patterns (so source order decides)."""
    if a.get("model_type") != b.get("model_type"):
        return False
    pa = {k: v for k, v in a.items() if k != "model_type"}
    pb = {k: v for k, v in b.items() if k != "model_type"}
    if field_count(pa) != field_count(pb):
        return False  # the plugin prefers the larger field count regardless of order
    for key in pa.keys() & pb.keys():
        va, vb = pa[key], pb[key]
        if isinstance(va, dict) and isinstance(vb, dict):
            if any(va[k] != vb[k] for k in va.keys() & vb.keys()):
                return False
        elif va != vb:
            return False
    return True


def priorities(archs: list[dict]) -> tuple[list[int], list[int | None]]:
    """Priorities giving earlier models the win, as the plugin's first-in-file rule does,
    and for each model the first earlier model it competes with (or None)."""
    group = list(range(len(archs)))

    def root(i):
        while group[i] != i:
            i = group[i]
        return i
    for i in range(len(archs)):
        for j in range(i):
            if _compatible(archs[i], archs[j]):
                group[root(i)] = root(j)
    prio, rival, seen = [], [], {}
    for i in range(len(archs)):
        members = seen.setdefault(root(i), [])
        prio.append(-len(members))
        rival.append(members[0] if members else None)
        members.append(i)
    return prio, rival


@dataclass
class Family:
    name: str
    body: dict
    note: str
    members: list = field(default_factory=list)
    parent: str = ROOT


def _prefix(names: list[str]) -> str:
    common = os.path.commonprefix(names).rstrip("_")
    return common or names[0]


def _unique(name: str, taken: set) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "family"
    if name in taken:
        name += "_imported"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _groups(keys: list, min_members: int = 2) -> dict:
    found: dict = {}
    for i, key in enumerate(keys):
        if key is not None:
            found.setdefault(key, []).append(i)
    return {k: v for k, v in found.items() if len(set(v)) >= min_members}


def plan_families(models, anchors: dict, options: list[str], reserved: set):
    """(families by name, per model: the chain of family names, nearest first)."""
    taken = set(reserved) | {ROOT}
    families: dict[str, Family] = {}
    arch_of: dict[int, str] = {}
    arch_keys = [("anchor", m.arch_anchor) if m.arch_anchor else
                 ("content", json.dumps(m.model["architecture"], sort_keys=True)) for m in models]
    for key, members in _groups(arch_keys).items():
        value = anchors.get(key[1]) if key[0] == "anchor" else models[members[0]].model[
            "architecture"]
        if not isinstance(value, dict):
            continue
        raw = re.sub(r"_?arch(itecture)?$", "", key[1]) if key[0] == "anchor" else _prefix(
            [options[i] for i in members])
        name = _unique(raw, taken)  # the label keeps the source's name; the file can't shadow
        note = (f"architecture anchor &{key[1]}" if key[0] == "anchor" else
                "an architecture shared verbatim") + f", used by {len(members)} models"
        families[name] = Family(name, {"family": raw, "architecture": value}, note, members)
        arch_of.update({i: name for i in members})
    uses: dict = {}
    for i, m in enumerate(models):
        for dev, cfg in sorted(m.model["device_configs"].items()):
            tp = int(dev[2:])
            anchor = m.device_anchors.get(tp)
            key = ("anchor", anchor) if anchor else ("content", json.dumps(cfg, sort_keys=True))
            uses.setdefault(key, []).append((i, dev))
    device_of: dict[int, str] = {}
    for key, items in uses.items():
        dev = items[0][1]
        members = sorted({i for i, d in items if d == dev})
        if len(members) < 2:
            continue
        raw = re.sub(r"_?config$", "", key[1]) if key[0] == "anchor" else (
            f"{_prefix([options[i] for i in members])}_{dev}")
        name = _unique(raw if "device" in raw else f"{raw}_device", taken)
        note = (f"device_config anchor &{key[1]}" if key[0] == "anchor" else
                "a device config shared verbatim") + f" ({dev}), used by {len(members)} models"
        cfg = models[members[0]].model["device_configs"][dev]
        families[name] = Family(name, {"device_configs": {dev: cfg}}, note, members)
        for i in members:
            device_of.setdefault(i, name)
    chains = []
    for fam in families.values():
        if fam.name in arch_of.values():
            devs = {device_of.get(i) for i in fam.members}
            if len(devs) == 1 and None not in devs:
                fam.parent = devs.pop()
    for i in range(len(models)):
        if i in arch_of:
            fam = families[arch_of[i]]
            chains.append([fam.name] + ([fam.parent] if fam.parent != ROOT else []))
        else:
            chains.append([device_of[i]] if i in device_of else [])
    return families, chains


def _merged(parts: list[dict]) -> dict:
    return OmegaConf.to_container(OmegaConf.merge(*[OmegaConf.create(p) for p in parts]),
                                  resolve=False, throw_on_missing=False)


def model_body(expected: dict, chain_parts: list[dict]) -> dict | None:
    """The keys a model file must set over its bases, or None when a merge can't give it."""
    have = _merged(chain_parts)
    own = {"hf_id": expected["hf_id"]}
    for key, value in expected.items():
        if key in ("architecture", "device_configs"):
            diff = {k: v for k, v in value.items() if have.get(key, {}).get(k) != v}
            if diff:
                own[key] = diff
        elif key == "platforms" or have.get(key) != value:
            own[key] = value
    return own if _merged([*chain_parts, own]) == _merged([*chain_parts[:1], expected]) else None


class _Dumper(yaml.SafeDumper):
    def represent_str(self, data):  # "<1.0.3" quoted, as a reader expects a specifier to be
        style = '"' if data[:1] in "<>=!~" and data else None
        return self.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _Dumper.represent_str)


def _dump(value, flow: bool) -> str:
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=flow, sort_keys=False,
                     width=10**6 if flow else 100, allow_unicode=True)


def _flow(value) -> str:
    return _dump(value, True).strip()


def render(header: list[str], parent: str, body: dict) -> str:
    """A conf file: comment header, defaults list with one base, then the body keys."""
    lines = [f"# {line}" for h in header for line in textwrap.wrap(h, 96, break_on_hyphens=False)] + ["defaults:", f"  - {parent}@_here_", "  - _self_"]
    for key, value in body.items():
        if key in RUNTIME_KEYS and value:
            lines.append(f"{key}:")
            lines += [f"  - {_flow(entry)}" for entry in value]
        elif key == "platforms":
            lines.append(f"platforms: {_flow(value)}")
        else:
            lines += _dump({key: value}, False).rstrip().split("\n")
    return "\n".join(lines) + "\n"

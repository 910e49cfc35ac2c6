"""The node graph of a plugin model_configs.yaml: duplicate keys, anchors, file:line errors.

The YAML is composed before it is constructed: the node graph keeps what construction
loses — duplicate keys (PyYAML silently keeps the last) and which sub-trees are the same
anchored node (the source's own templates, reused as family bases).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from spyre_hydra.errors import LegacyFormatError, Problem
from spyre_hydra.io.reading import InputError, check_node_budget, read_text_bounded
from spyre_hydra.io.yaml11 import describe, yaml11_scalars

MERGE_TAG = "tag:yaml.org,2002:merge"


class _Composer(yaml.SafeLoader):
    """Keeps the document's anchors (PyYAML forgets them after composing)."""

    def compose_document(self):
        self.get_event()
        node = self.compose_node(None, None)
        self.get_event()
        self.doc_anchors = dict(self.anchors)
        self.anchors = {}
        return node


def fail(problems: list[Problem], src: Path) -> LegacyFormatError:
    """One error listing every problem of ``src``."""
    count = len(problems)
    head = (f"cannot import {src} ({count} problem{'s' if count != 1 else ''}); nothing was "
            "written:")
    error = LegacyFormatError("\n".join([head, *("  - " + p.render() for p in problems)]))
    error.problems = problems
    return error


def _mapping_items(node):
    return node.value if isinstance(node, yaml.MappingNode) else []


def _child(node, key: str):
    for k, v in _mapping_items(node):
        if isinstance(k, yaml.ScalarNode) and k.value == key and k.tag != MERGE_TAG:
            return v
    return None


def _duplicates(node, path: str, src: Path, seen: set, out: list[Problem]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicates(item, f"{path}[{i}]", src, seen, out)
    if not isinstance(node, yaml.MappingNode):
        return
    first: dict = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else "<complex key>"
        sub = f"{path}.{name}" if path else str(name)
        if isinstance(key, yaml.ScalarNode) and key.tag != MERGE_TAG:
            sig = (key.tag, key.value)
            if sig in first:
                out.append(Problem(sub, f"duplicate key {name!r} (first at line {first[sig]}); "
                                   "PyYAML and the plugin silently keep the last one.",
                                   f"{src}:{key.start_mark.line + 1}", "remove or rename one"))
            first.setdefault(sig, key.start_mark.line + 1)
        _duplicates(value, sub, src, seen, out)


def _anchor_of(node, anchors: dict) -> str | None:
    """The anchor a node is, or (for a mapping with `<<: *x`) merges first."""
    if node is None:
        return None
    if id(node) in anchors:
        return anchors[id(node)]
    for key, value in _mapping_items(node):
        if isinstance(key, yaml.ScalarNode) and key.tag == MERGE_TAG:
            targets = value.value if isinstance(value, yaml.SequenceNode) else [value]
            return next((anchors[id(t)] for t in targets if id(t) in anchors), None)
    return None


def load_nodes(src: Path):
    """(data, per-model anchors and line, anchor -> value, duplicate-key problems)."""
    try:
        text = read_text_bounded(src, what="legacy catalog")
    except InputError as exc:
        raise fail([Problem(exc.path, exc.why, "", exc.fix)], src) from None
    loader = _Composer(text)
    try:
        root = loader.get_single_node()
        check_node_budget(root, src, what="legacy catalog")  # before anything expands it
        named = getattr(loader, "doc_anchors", {})
        anchors = {id(n): name for name, n in named.items()}
        problems: list[Problem] = []
        _duplicates(root, "", src, set(), problems)
        for node, text, value in yaml11_scalars(root):  # the plugin reads YAML 1.1 too
            what, fix = describe(text, value)
            problems.append(Problem(text, what, f"{src}:{node.start_mark.line + 1}", fix))
        arch_nodes = {}
        for key, value in _mapping_items(_child(root, "models")):
            arch = _child(value, "architecture")
            cbs = _child(value, "continuous_batching_configs")
            devs = {}
            for i, entry in enumerate(cbs.value if isinstance(cbs, yaml.SequenceNode) else []):
                devs[i] = anchors.get(id(_child(entry, "device_config")))
            for tp_key, dev in _mapping_items(_child(value, "device_configs")):
                devs[f"seed:{tp_key.value}"] = anchors.get(id(dev))
            arch_nodes[key.value] = (_anchor_of(arch, anchors), devs, key.start_mark.line + 1)
        data = loader.construct_document(root) if root is not None else None
        values = {name: loader.construct_object(n, deep=True) for name, n in named.items()}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{src}:{mark.line + 1}:{mark.column + 1}" if mark else str(src)
        what = exc.problem or exc.context or str(exc)
        raise fail([Problem(where, f"malformed YAML: {what}.", "", "fix the YAML at that "
                            "line")], src) from None
    except yaml.YAMLError as exc:
        raise fail([Problem(str(src), f"malformed YAML: {exc}.", "",
                                    "fix the YAML")], src) from None
    except InputError as exc:
        raise fail([Problem(exc.path, exc.why, "", exc.fix)], src) from None
    finally:
        loader.dispose()
    return data, arch_nodes, values, problems

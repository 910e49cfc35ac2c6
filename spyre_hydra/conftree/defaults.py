"""The conf trees a launch searches, read before Hydra composes them.

Hydra reports a YAML syntax error as a stack trace and recurses without end on defaults
lists that include each other (family files naming each other as bases). Both are found
here first and named by file.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from spyre_hydra.errors import ConfigValidationError, Problem


class DefaultsEntry(NamedTuple):
    """One item of a defaults list, as written: `[override ][optional ]path[@package]`."""

    path: str
    package: str | None
    override: bool
    options: tuple[str, ...] | None  # {group: option(s)}: the options; None: a plain name


def read_defaults(data: dict) -> list[DefaultsEntry]:
    """The items of a file's defaults list (the one reader of defaults lists)."""
    out: list[DefaultsEntry] = []
    items = data.get("defaults") if isinstance(data, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            head, options = item, None
        elif isinstance(item, dict) and len(item) == 1:
            (head, value), = item.items()
            head = str(head)
            options = tuple(map(str, value if isinstance(value, list) else
                                [] if value is None else [value]))
        else:
            continue
        words = head.split()
        override = bool(words) and words[0] == "override"
        words = [w for w in words if w not in ("override", "optional")]
        path, _, package = " ".join(words).partition("@")
        out.append(DefaultsEntry(path.strip(), package.strip() or None, override, options))
    return out


def _entries(data: dict) -> list[str]:
    """The config paths a defaults list names (as written; `_self_`, overrides skipped)."""
    out: list[str] = []
    for entry in read_defaults(data):
        if entry.override or (entry.options is not None and len(entry.options) != 1):
            continue
        name = entry.path if entry.options is None else f"{entry.path}/{entry.options[0]}"
        if entry.path and name != "_self_":
            out.append(name)
    return out


def _target(config: str, entry: str) -> str:
    """A defaults entry of `config` (`model/family/a`) as a config path: relative to the
    config's own group unless it starts with '/'."""
    if entry.startswith("/"):
        return entry.lstrip("/")
    group = config.rpartition("/")[0]
    return f"{group}/{entry}" if group else entry


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        trail.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state and nxt in graph:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        trail.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def check_conf_tree(roots: list[Path]) -> None:
    """Every YAML file parses (named by file:line), and no defaults list is a cycle."""
    from spyre_hydra.conftree.conffile import read_conf_file

    graph: dict[str, list[str]] = {}
    files: dict[str, Path] = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*.yaml")):
            data = read_conf_file(path)
            name = path.relative_to(root).with_suffix("").as_posix()
            if name not in files:  # the first root wins, as in Hydra's search path
                files[name] = path
                graph[name] = [_target(name, e) for e in _entries(data)]
    cycle = _cycle(graph)
    if cycle:
        chain = " -> ".join(str(files.get(n, n)) for n in cycle)
        raise ConfigValidationError([Problem(
            str(files[cycle[0]]), f"its defaults list comes back to itself: {chain}.", "",
            "make one of these files stop naming the other as a base")],
            "cannot read the conf tree")

"""The import graph of spyre_hydra has no cycle, function-level imports included, and
Hydra's private API appears in one adapter module only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "spyre_hydra"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """module -> spyre_hydra modules it imports anywhere in its body (every `import`)."""
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_pkg, node)
                # `from . import x` / `from .pkg import mod`: the submodule when it is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("spyre_hydra") and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    # launch imports the sweep job only inside its task function
    assert "spyre_hydra.sweep.job" in graph["spyre_hydra.cli.launch"]
    assert "spyre_hydra.plan.argv" in graph["spyre_hydra.cli.launch"]


def test_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


# Private names, and the spellings that differ between Hydra 1.3 / 1.4 and OmegaConf 2.3 /
# 2.4 (the adapter picks them), appear in conftree/hydra_adapter.py only.
@pytest.mark.parametrize("needle", ["hydra._internal", "_get_node(", "._value()",
                                    "get_mode =", "register_new_resolver(", "version_base=",
                                    "initialize_config_dir(", "hydra.main("])
def test_hydra_private_api_only_in_the_adapter(needle):
    found = sorted(str(p.relative_to(PKG.parent)) for p in PKG.rglob("*.py")
                   if needle in p.read_text(encoding="utf-8")
                   and p.name != "hydra_adapter.py")
    assert found == []


#: The packages of spyre_hydra, lowest layer first. A module may import from its own package
#: and from lower layers only; packages that share a layer do not import each other.
LAYERS = [
    {"spyre_hydra.errors", "spyre_hydra._version"},
    {"spyre_hydra.io"},
    {"spyre_hydra.conftree"},
    {"spyre_hydra.catalog"},
    {"spyre_hydra.legacy"},
    {"spyre_hydra.compat"},
    {"spyre_hydra.plan"},
    {"spyre_hydra.engine"},
    {"spyre_hydra.sweep", "spyre_hydra.deploy"},
    {"spyre_hydra.tune"},
    {"spyre_hydra.cli"},
    {"spyre_hydra"},
]
#: Imports that still run upward, each a known debt (issue 14), never a new one.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def package_of(module: str) -> str:
    """The layer package a module belongs to (the root's own modules stand for themselves)."""
    parts = module.split(".")
    if len(parts) == 1:
        return module
    candidate = ".".join(parts[:2])
    return candidate


def layer_of(module: str) -> int:
    package = package_of(module)
    for index, members in enumerate(LAYERS):
        if package in members:
            return index
    raise KeyError(package)


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(importer, imported) pairs that break the layer order."""
    bad = set()
    for module, targets in graph.items():
        for target in targets:
            if package_of(module) == package_of(target):
                continue
            if layer_of(target) >= layer_of(module):
                bad.add((module, target))
    return bad


def test_every_package_has_a_layer():
    unplaced = sorted({package_of(m) for m in import_graph()} - set().union(*LAYERS))
    assert unplaced == [], f"packages without a layer in LAYERS: {unplaced}"


def test_the_root_holds_only_the_public_face():
    root = sorted(p.name for p in PKG.glob("*.py"))
    assert root == ["__init__.py", "_version.py", "errors.py"]


def test_layer_checker_finds_an_upward_import():
    graph = {"spyre_hydra.io.writer": {"spyre_hydra.plan.front"},
             "spyre_hydra.sweep.job": {"spyre_hydra.deploy.bundle"},
             "spyre_hydra.cli.main": {"spyre_hydra.io.writer"}}
    assert upward_imports(graph) == {("spyre_hydra.io.writer", "spyre_hydra.plan.front"),
                                     ("spyre_hydra.sweep.job", "spyre_hydra.deploy.bundle")}


def test_imports_follow_the_layers():
    new = sorted(upward_imports(import_graph()) - KNOWN_UPWARD)
    assert new == [], "imports against the layer order: " + "; ".join(f"{a} -> {b}" for a, b in new)


def test_known_upward_imports_are_still_there():
    """A debt that was paid is struck off KNOWN_UPWARD, so the list never hides a new one."""
    gone = sorted(KNOWN_UPWARD - upward_imports(import_graph()))
    assert gone == []

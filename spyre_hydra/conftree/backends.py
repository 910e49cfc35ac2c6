"""The backend table: each conf/backend/<name>.yaml is one backend, found on the conf roots.

A backend file says everything about it: the env it needs, the engine args it needs,
whether the Spyre plugin runs (then the launch also needs a free MASTER_PORT and the
composed catalog for the plugin), a one-line description and how it is detected. Adding a
backend is adding that one file, to the shipped tree or to a user conf dir:

    name: mine
    description: what it runs on
    spyre_plugin: false
    detect: {installed: [some-dist], rank: 3}   # optional: picked by backend=auto
    env: {...}
    engine_args: {...}

Detection reads installed-distribution metadata only, never imports: importing torch_sendnn
(or torch, or vllm) costs seconds and, for torch_sendnn, can try to open the card.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from spyre_hydra.conftree.stamp import (
    SPYRE_PLUGIN_DISTRIBUTIONS,
    TORCH_SENDNN_DISTRIBUTIONS,
    installed,
)

#: The variable the Spyre plugin reads its model catalog from (the composed one, exported).
MODEL_CONFIG_ENV = "SENDNN_INFERENCE_MODEL_CONFIG_FILE"
#: `backend=auto`: a placeholder the pre-flight replaces with the detected backend.
AUTO = "auto"
#: Names a detection rule may use for a package list kept in code (conftree/stamp.py).
PACKAGE_SETS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "spyre_plugin": SPYRE_PLUGIN_DISTRIBUTIONS, "torch_sendnn": TORCH_SENDNN_DISTRIBUTIONS})


@dataclass(frozen=True)
class Backend:
    """One conf/backend/<name>.yaml."""

    name: str
    description: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    engine_args: Mapping[str, Any] = field(default_factory=dict)
    spyre_plugin: bool = False
    detect: tuple[str, ...] | None = None
    """distributions of which one must be installed; None: never detected."""
    rank: int = 0
    """detection order: the highest-ranked backend whose rule holds wins."""

    def detected(self) -> bool:
        """Whether this machine has what the backend needs (package metadata only)."""
        if self.detect is None:
            return False
        if not self.detect:  # an empty list: always there (plain vLLM)
            return True
        return installed(n for item in self.detect for n in PACKAGE_SETS.get(item, (item,)))


def _tree(tree):
    """The ConfTree to read (None: the shipped tree)."""
    from spyre_hydra.conftree.tree import ConfTree

    return ConfTree.of(tree)


def backend_names(tree=None) -> list[str]:
    """Every backend option of the tree (the `auto` placeholder included)."""
    return _tree(tree).options("backend")


#: What a backend file may leave out to keep the value of the same backend's file further
#: down the roots (a user's eager.yaml that sets only env stays the Spyre plugin's backend).
_INHERITED = ("description", "spyre_plugin", "detect")


def _data(name: str, roots) -> list[tuple[Path, dict]]:
    from spyre_hydra.io.reading import load_yaml

    found = []
    for root in roots:
        path = root / "backend" / f"{name}.yaml"
        if path.is_file():
            stat = path.stat()
            key = (str(path), stat.st_mtime_ns, stat.st_size)
            if key not in _FILES:
                _FILES[key] = dict(load_yaml(path, what="backend file") or {})
            found.append((path, _FILES[key]))
    return found


def _spec(data: Mapping, name: str, path: Path) -> Backend:
    from spyre_hydra.errors import UnknownOptionError

    detect = data.get("detect")
    if detect is not None and not isinstance(detect, Mapping):
        raise UnknownOptionError(f"{path}: detect is {detect!r}. Valid: a mapping such as "
                                 "{installed: [a-distribution], rank: 1}. Fix: correct it.")
    names = None
    if detect is not None:
        found = detect.get("installed") or []
        names = tuple(str(n) for n in ([found] if isinstance(found, str) else found))
    return Backend(str(data.get("name", name)), str(data.get("description") or ""),
                   MappingProxyType({k: str(v) for k, v in (data.get("env") or {}).items()}),
                   MappingProxyType(dict(data.get("engine_args") or {})),
                   bool(data.get("spyre_plugin")), names, int((detect or {}).get("rank") or 0))


#: Parsed backend files by (path, mtime, size): detection runs in every mode=plan.
_FILES: dict[tuple[str, int, int], dict] = {}


def backend_spec(name: str, tree=None) -> Backend:
    """The backend `name` as its file in the tree says (the user's conf dir first; see
    _INHERITED). Read as plain YAML: one flat file, nothing to compose."""
    from spyre_hydra.errors import UnknownOptionError

    tree = _tree(tree)
    roots = tree.roots
    files = _data(name, roots) if name != AUTO else []
    if not files:
        valid = [n for n in backend_names(tree) if n != AUTO]
        raise UnknownOptionError(f"backend {name!r} is not a backend here. Valid (the files "
                                 f"in conf/backend/ of {', '.join(map(str, roots))}): "
                                 f"{', '.join(valid)}. Fix: backend=<one of those>, or add "
                                 f"conf/backend/{name}.yaml to your conf dir.")
    path, data = files[0]
    data = dict(data)
    for key in _INHERITED:
        for _, lower in files[1:]:
            if key in data:
                break
            if key in lower:
                data[key] = lower[key]
    return _spec(data, name, path)


def backends(tree=None) -> list[Backend]:
    """Every real backend of the tree (without the `auto` placeholder)."""
    tree = _tree(tree)
    return [backend_spec(n, tree) for n in backend_names(tree) if n != AUTO]


def detect_backend(tree=None) -> str:
    """The highest-ranked backend whose detection rule holds here: shipped, sendnn when
    torch_sendnn is installed, eager when only the Spyre plugin is, else cpu."""
    # highest rank first, stopping at the first hit: each miss scans the installed metadata
    ranked = sorted((b for b in backends(tree) if b.detect is not None), key=lambda b: -b.rank)
    found = next((b for b in ranked if b.detected()), None)
    if found is None:
        from spyre_hydra.errors import PlatformError

        raise PlatformError("no backend's detection rule holds on this machine. Fix: name "
                            "one (backend=cpu), or give a backend file `detect: {rank: 0}`.")
    return found.name


def spyre_backends(tree=None) -> Iterable[str]:
    """Names of the backends that run the Spyre plugin."""
    return [b.name for b in backends(tree) if b.spyre_plugin]


def backend_help(tree=None) -> str:
    """One line per backend file (auto first), for spyre-launch --help."""
    tree = _tree(tree)
    specs = [backend_spec(n, tree) if n != AUTO else None for n in backend_names(tree)]
    rows = [(AUTO, "the backend detected here (the backend files' detect rules)")]
    rows += [(b.name, b.description) for b in specs if b is not None]
    width = max(len(n) for n, _ in rows)
    return "\n".join(f"{n.ljust(width)}  {d}".rstrip() for n, d in rows)


__all__ = ["AUTO", "backend_help", "Backend", "MODEL_CONFIG_ENV", "backend_names", "backend_spec",
           "backends", "detect_backend", "spyre_backends"]

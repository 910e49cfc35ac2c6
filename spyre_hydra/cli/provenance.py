"""Where a value of a composed launch tree came from (for `spyre-hydra explain`).

Hydra and OmegaConf merge without keeping provenance, so it is traced back by hand: a
command-line override wins; a model key comes from the last file of the model's defaults
chain that sets it (registry entries list the chain base-first); a group key comes from the
chosen option's file; everything else from conf/config.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spyre_hydra.conftree.conffile import read_conf_file
from spyre_hydra.conftree.roots import GROUPS, shipped_conf_dir


class Origins:
    """Answers "where did this key's value come from" for one composition."""

    def __init__(self, overrides: list[str], choices: Mapping[str, Any], model_files: list[str],
                 tree, derived=()):
        self.overrides = [(o.split("=", 1)[0].lstrip("+~"), o) for o in overrides if "=" in o]
        self.derived = set(derived)  # added by spyre-launch's pre-flight, not typed by the user
        self.choices = choices
        self.tree = tree  # the ConfTree composed from
        self.layers = [(path, read_conf_file(Path(path))) for path in model_files]

    def show(self, path: str | Path) -> str:
        """A conf file as conf/<group>/<name>.yaml for the shipped tree, else its full path."""
        path = Path(path)
        for root in self.tree.roots:
            if path.is_relative_to(root):
                rel = path.relative_to(root).as_posix()
                return f"conf/{rel}" if root == shipped_conf_dir() else str(path)
        return str(path)

    def cli(self, key: str) -> str | None:
        """The last command-line override setting `key`, part of it, or a parent of it."""
        for name, text in reversed(self.overrides):
            if name in GROUPS:  # a group choice, reported with the group's file
                continue
            if key == name or key.startswith(name + ".") or name.startswith(key + "."):
                return self._said(text, name)
        return None

    def _said(self, text: str, name: str) -> str:
        if text not in self.derived:
            return f"command line {text!r}"
        why = {"backend": "backend=auto, detected from installed packages",
               "model": "model=auto, matched against model_path's config.json",
               "model.path": "model=auto: the checkpoint directory"}.get(name, "pre-flight")
        return f"pre-flight {text!r} ({why})"

    def group(self, group: str) -> str:
        """How a group's option was chosen."""
        for name, text in reversed(self.overrides):
            if name == group:
                return self._said(text, name)
        return "default in conf/config.yaml"

    def group_file(self, group: str) -> str:
        """The chosen option's file and how it was chosen."""
        choice = self.choices.get(group)
        path = self.tree.find(group, str(choice)) or f"{group}/{choice}.yaml"
        return f"{self.show(path)} ({group}={choice}: {self.group(group)})"

    def model_file(self, key: str) -> str | None:
        """The last file of the model's chain defining model.<key>, as text."""
        found = None
        for path, data in self.layers:
            node: Any = data
            for part in key.split("."):
                if not isinstance(node, Mapping) or part not in node:
                    break
                node = node[part]
            else:
                found = path
        if found is None:
            return None
        own = found == self.layers[-1][0]
        where = "model file" if own else f"family base of model={self.choices.get('model')}"
        return f"{self.show(found)} ({where})"

    def value(self, key: str) -> str:
        """Origin of a plain key of the composed tree (model.*, group.*, or a top key)."""
        hit = self.cli(key)
        if hit:
            return hit
        top, _, rest = key.partition(".")
        if top == "model" and rest:
            return self.model_file(rest) or f"not set by model={self.choices.get('model')}"
        if top in GROUPS and rest:
            return self.group_file(top)
        return "default in conf/config.yaml"


def blocks_origin(o: Origins, raw: Any, version: str, dev: str, value: Any) -> str:
    """The block count's origin: its file, and for a version mapping the specifier used."""
    from spyre_hydra.conftree.versions import DEFAULT_KEY, _specifier, parse_version

    key = f"model.device_configs.{dev}.num_gpu_blocks_override"
    where = o.value(key)
    if not isinstance(raw, Mapping):
        return where
    parsed = parse_version(version)
    hit = next((k for k in raw if k != DEFAULT_KEY and parsed is not None
                and parsed in _specifier(str(k), key)), None)
    why = f"specifier {hit!r} matched" if hit else (
        f"no specifier matched, so '{DEFAULT_KEY}'" if parsed else f"'{DEFAULT_KEY}' applies")
    table = ", ".join(f"{k}→{v}" for k, v in raw.items())
    return (f"resolver ${{spyre.blocks}} with torch_sendnn {version}: {why} → {value} "
            f"(of {table}) from {where}")

"""Drift between the composed catalog and the installed Spyre plugin's own model_configs.yaml.

Pointing the plugin at the composed catalog (SENDNN_INFERENCE_MODEL_CONFIG_FILE) replaces
the plugin's whole catalog, so a model a newer plugin adds would silently lose its settings.
The plugin's file is found through package metadata: nothing of sendnn_inference (which
imports torch and vllm) is imported.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from spyre_hydra.conftree.stamp import SPYRE_PLUGIN_DISTRIBUTIONS as PLUGIN_DISTRIBUTIONS
from spyre_hydra.io.reading import InputError, load_yaml

PLUGIN_FILES = ("sendnn_inference/config/model_configs.yaml",
                "vllm_spyre/config/model_configs.yaml")


def installed_catalog_path() -> Path | None:
    """The installed plugin's model_configs.yaml, or None when no plugin is installed."""
    for name in PLUGIN_DISTRIBUTIONS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for rel in PLUGIN_FILES:
            path = Path(dist.locate_file(rel))
            if path.is_file():
                return path
    return None


def read_models(path) -> dict[str, Any]:
    """The `models:` mapping of a plugin-schema catalog file (anchors resolved)."""
    from spyre_hydra.errors import LegacyFormatError

    try:
        data = load_yaml(path, what="plugin catalog") or {}
    except (InputError, yaml.YAMLError) as exc:
        raise LegacyFormatError(f"cannot read the plugin catalog {path}: {exc}. Fix: point at "
                                "a readable model_configs.yaml.") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise LegacyFormatError(f"{path} has no `models:` mapping. Fix: point at the plugin's "
                                "model_configs.yaml.")
    return models


#: Keys the 2.6.3 plugin does not read (a warmup shape is prompt_len and batch_size only).
_UNREAD = ("chunked_prefill_config", "new_tokens")


def _normal(value: Any, key: str = "") -> Any:
    """Values as the plugin reads them: env var values are strings once exported, the
    platform list is a set, and what the 2.6.3 plugin does not read is left out."""
    if isinstance(value, Mapping):
        return {k: (str(v) if key == "env_vars" else _normal(v, k))
                for k, v in value.items() if k not in _UNREAD}
    if isinstance(value, list):
        items = [_normal(v, key) for v in value]
        return sorted(items) if key == "platforms" else items
    return value


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def compare(ours: Mapping[str, Any], installed: Mapping[str, Any],
            skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """{only_ours, only_installed: [hf ids], different: {hf id: [(key, ours, installed)]}}."""
    only_ours = [m for m in ours if m not in installed and m not in skip]
    only_installed = [m for m in installed if m not in ours]
    different = {}
    for name in ours:
        if name not in installed:
            continue
        a, b = _normal(ours[name]), _normal(installed[name])
        rows = []
        for top in [*a, *(k for k in b if k not in a)]:
            if top not in a or top not in b:  # a whole section on one side: say it once
                rows.append((top, a.get(top), b.get(top)))
                continue
            fa, fb = _flat(a[top], top), _flat(b[top], top)
            rows += [(k, fa.get(k), fb.get(k)) for k in sorted(fa.keys() | fb.keys())
                     if fa.get(k) != fb.get(k)]
        if rows:
            different[name] = rows
    return {"only_ours": only_ours, "only_installed": only_installed, "different": different}


def missing_from_catalog(config_file) -> list[str]:
    """Models the installed plugin lists that the catalog file lacks (empty: no plugin)."""
    plugin = installed_catalog_path()
    if plugin is None:
        return []
    return [m for m in read_models(plugin) if m not in read_models(config_file)]


def missing_warning(config_file) -> str | None:
    """The warning a launch gives when pointing the plugin at `config_file` drops models."""
    missing = missing_from_catalog(config_file)
    if not missing:
        return None
    return (f"the installed Spyre plugin lists {len(missing)} model(s) the composed catalog "
            f"lacks; pointing the plugin at {config_file} leaves them unconfigured: "
            f"{', '.join(missing)}. Fix: add them to the conf tree (spyre-hydra check "
            "--against-installed shows every difference).")


def against_installed(conf_dir=None, sendnn_version=None,
                      installed_path=None) -> tuple[Path, dict[str, Any], list[str]]:
    """(plugin file, comparison, builtin models left out) for a conf tree's catalog
    (`conf_dir`: a ConfTree, a user conf dir or None)."""
    from spyre_hydra.catalog.registry import get_model_registry
    from spyre_hydra.conftree.versions import installed_sendnn_version
    from spyre_hydra.errors import LegacyFormatError
    from spyre_hydra.legacy.exporter import catalog_document

    path = Path(installed_path) if installed_path else installed_catalog_path()
    if path is None:
        raise LegacyFormatError("no Spyre plugin (sendnn-inference) is installed, so there is "
                                "no catalog to compare with. Fix: install the plugin, or pass "
                                "--installed-file PATH.")
    registry = get_model_registry(conf_dir)
    version = installed_sendnn_version() if sendnn_version is None else sendnn_version
    document, _ = catalog_document(registry, version)
    builtin = tuple(registry.get_model_config(o).name for o in registry.list_options()
                    if str(registry.get_model_config(o).path or "").startswith("builtin:"))
    return path, compare(document["models"], read_models(path), builtin), list(builtin)


def report_lines(result: Mapping[str, Any]) -> list[str]:
    """The comparison as lines for `spyre-hydra check --against-installed`."""
    lines = [f"  only in the composed catalog: {m}" for m in result["only_ours"]]
    lines += [f"  only in the installed plugin: {m}" for m in result["only_installed"]]
    for name, rows in result["different"].items():
        lines += [f"  differs: {name} {key}: composed {a!r}, installed {b!r}"
                  for key, a, b in rows]
    return lines

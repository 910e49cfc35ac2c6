"""The plugin's ``model_registry`` module over spyre_hydra's registry.

``ModelConfigRegistry()`` starts empty; ``initialize(path)`` loads a plugin-schema
model_configs.yaml (or a conf dir), and with no path ``SENDNN_INFERENCE_MODEL_CONFIG_FILE``
or else spyre_hydra's shipped catalog. Matching, runtime checks and configurators are
spyre_hydra's; results come back in the plugin's shapes (ModelConfig, configurators with
``model_config`` / ``device_config``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml

from spyre_hydra.catalog.registry import ModelConfigRegistry as _Registry
from spyre_hydra.compat.sendnn_inference.config.model_config import ModelConfig
from spyre_hydra.compat.sendnn_inference.platform import sendnn_version_text
from spyre_hydra.errors import (
    CatalogFileNotFoundError,
    CatalogLoadError,
    ConfigValidationError,
    Problem,
)
from spyre_hydra.io.reading import InputError, load_yaml

log = logging.getLogger(__name__)
CONFIG_FILE_ENV = "SENDNN_INFERENCE_MODEL_CONFIG_FILE"


class PluginFileError(ConfigValidationError, KeyError, TypeError):
    """A plugin file whose entries do not have the plugin's shape. A ValueError like every
    ConfigValidationError, and the KeyError / TypeError the plugin's own loader lets out
    for such a file, so its callers' except clauses still catch it."""

    __str__ = Exception.__str__  # not KeyError's quoted repr


def _shape_problem(name: str, raw: Any, exc: Exception, path: Path) -> Problem:
    """The Problem for a model entry the plugin's from_dict cannot even read."""
    if isinstance(exc, KeyError):
        missing = exc.args[0] if exc.args else "?"
        return Problem(name, f"required key {missing!r} is missing (in its architecture or a "
                       "runtime entry).", str(path), "add it (the plugin's schema: "
                       "architecture: {model_type: ...}, continuous_batching_configs: "
                       "[{tp_size, max_model_len, max_num_seqs}], static_batching_configs: "
                       "[{tp_size, warmup_shapes: [{prompt_len, batch_size}]}])")
    why = str(exc).split(". Fix:")[0].rstrip(".")
    return Problem(name, f"not in the plugin's schema ({why}).", str(path),
                   "write the entry as the plugin's model_configs.yaml does: mappings for "
                   "architecture and each runtime entry, a list of {prompt_len, batch_size} "
                   "for warmup_shapes")


class ModelConfigRegistry(_Registry):
    """The plugin's registry API on spyre_hydra's registry (one instance: get_instance)."""

    _instance: "ModelConfigRegistry | None" = None
    _initialized: bool = False

    def __init__(self):
        self._start(None)  # no models yet; device names from the shipped conf tree
        self._index()
        self._views: dict[str, ModelConfig] = {}

    @classmethod
    def get_instance(cls) -> "ModelConfigRegistry":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def initialize(self, config_path: Path | None = None) -> None:
        """Load a plugin-schema file or a conf dir: ``config_path``, else the file named by
        SENDNN_INFERENCE_MODEL_CONFIG_FILE, else spyre_hydra's shipped catalog."""
        if self._initialized:
            log.debug("Registry already initialized, skipping")
            return
        path = config_path if config_path is not None else os.environ.get(CONFIG_FILE_ENV)
        if path is None:
            _Registry.__init__(self, None)  # the shipped conf tree
        elif Path(path).is_dir():
            _Registry.__init__(self, Path(path))
        else:
            self._load_file(Path(path))
        self._views = {}
        self._initialized = True

    def _load_file(self, path: Path) -> None:
        if not path.exists():
            raise CatalogFileNotFoundError(
                f"Model configuration file not found at {path}. Fix: point "
                f"{CONFIG_FILE_ENV} (or the path given) at a model_configs.yaml.")
        if not path.stat().st_mode & 0o444:  # root reads it anyway; every other user can't
            raise CatalogLoadError(f"Failed to load model configurations from {path}: it has "
                                   "no read permission (mode 000). Fix: chmod a+r it, or "
                                   "point at another file.")
        try:
            data = load_yaml(path, what="model configuration file")
        except InputError as exc:
            raise CatalogLoadError(f"Failed to load model configurations from {path}: it "
                                   f"{exc.why} Fix: {exc.fix}.") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            raise CatalogLoadError(f"Failed to load model configurations from {where}: "
                                   f"malformed YAML ({getattr(exc, 'problem', None) or exc}). "
                                   "Fix: correct the YAML at that line (the plugin's schema: "
                                   "models: <name>: ...).") from None
        models = (data or {}).get("models") if isinstance(data or {}, dict) else None
        if models is not None and not isinstance(models, dict):
            raise CatalogLoadError(f"Failed to load model configurations from {path}: "
                                   f"`models:` is {type(models).__name__}, not a mapping. Fix: "
                                   "write models: <name>: {architecture: ..., ...}.")
        problems, configs = [], []
        for name, raw in (models or {}).items():  # no `models:` (or an empty file): 0 models
            try:
                configs.append(ModelConfig.from_dict(str(name), raw if isinstance(raw, dict)
                                                     else {}))
            except ConfigValidationError as exc:
                problems += exc.problems
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                problems.append(_shape_problem(str(name), raw, exc, path))
        if problems:
            raise PluginFileError(problems, f"invalid model configurations in {path}")
        for config in configs:
            self.register_model(config, files=(str(path),))
        log.info("Loaded %d model configurations from %s", len(self._models), path)

    def register_model(self, model_config: ModelConfig, files=()) -> None:
        """Add (or replace) a model given in the plugin's shape."""
        self.register(model_config.to_entry(files))
        self._views[model_config.name] = model_config

    def _view(self, name: str) -> ModelConfig:
        view = self._views.get(name)
        if view is None:
            view = self._views[name] = ModelConfig.from_entry(self._entry(name), self.devices)
        return view

    def get_model_config(self, name: str) -> ModelConfig:
        """The model (HF id or option name) in the plugin's ModelConfig shape."""
        return self._view(self._entry(name).name)

    def find_matching_model(self, vllm_model_config: Any) -> ModelConfig | None:
        """The ModelConfig of the best pattern matching ``hf_config``, or None."""
        entry = self.match_entry(vllm_model_config)
        if entry is None:
            return None
        log.info("Matched model %r to configuration %r", getattr(vllm_model_config, "model",
                                                                 None), entry.name)
        return self._view(entry.name)

    def get_configurator_for_runtime(self, vllm_config: Any, warmup_shapes=None,
                                     sendnn_version: str | None = None,
                                     strict: bool | None = None):
        """spyre_hydra's runtime match; the configurator carries ``model_config`` (this
        shape) and ``device_config`` (the matched entry's settings, or None)."""
        version = sendnn_version_text() if sendnn_version is None else sendnn_version
        configurator = super().get_configurator_for_runtime(vllm_config, warmup_shapes,
                                                            version, strict)
        if configurator is not None:
            configurator.model_config = self._view(configurator.model_name)
        return configurator


def get_model_registry() -> ModelConfigRegistry:
    """The registry instance, initialized on first use."""
    registry = ModelConfigRegistry.get_instance()
    if not registry._initialized:
        registry.initialize()
    return registry


__all__ = ["ModelConfigRegistry", "PluginFileError", "get_model_registry"]

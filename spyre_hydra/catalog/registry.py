"""The model registry with the plugin's API, built from the composed conf tree.

    registry = get_model_registry()
    name = registry.find_matching_model(vllm_config.model_config)   # HF id or None
    configurator = registry.get_configurator_for_runtime(vllm_config)
    summary = configurator.configure(vllm_config)
"""

from __future__ import annotations

import difflib
import gc
import logging
from collections.abc import Mapping
from typing import Any

from spyre_hydra.catalog.admission import admit
from spyre_hydra.catalog.configurator import (
    DeviceSettings,
    ModelConfigurator,
    make_configurator,
    strict_from_env,
)
from spyre_hydra.catalog.loader import load_checked
from spyre_hydra.catalog.matcher import ModelMatcher, Pattern
from spyre_hydra.catalog.model_entry import ModelEntry, normalize_shapes  # noqa: F401 - re-exported
from spyre_hydra.catalog.validate import check_model
from spyre_hydra.conftree.conffile import read_conf_file
from spyre_hydra.conftree.tree import ConfTree
from spyre_hydra.conftree.versions import installed_sendnn_version, select_block_override
from spyre_hydra.errors import ConfigValidationError, UnknownModelError

log = logging.getLogger(__name__)


class ModelConfigRegistry:
    """All catalog models of a conf tree, indexed for matching."""

    def __init__(self, conf_dir=None, use_cache: bool = True):
        """`conf_dir`: a ConfTree, a user conf dir (path) or None for the shipped tree."""
        self._start(ConfTree.coerce(conf_dir, "ModelConfigRegistry"))
        devices = tuple(self.devices.values())
        # A big catalog allocates an object per cached value; the collector's passes over
        # them free nothing (no cycles) and were a fifth of a 5,000-model warm load.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            entries, checked = load_checked(self.tree, devices, use_cache=use_cache)
            self._models, self._options = admit(entries, devices, checked)
            self._index()
        finally:
            if was_enabled:
                gc.enable()

    def _start(self, tree: ConfTree | None) -> None:
        self.tree = ConfTree.of(tree)  # None: the shipped tree
        self.devices = self._device_names()
        self._models: dict[str, ModelEntry] = {}
        self._options: dict[str, ModelEntry] = {}

    def _index(self) -> None:
        self.matcher = ModelMatcher(Pattern.from_architecture(e.name, e.architecture, e.priority, i)
                                    for i, e in enumerate(self._models.values()))
        # Ties and shadows among catalog models are `spyre-hydra check` findings; a run
        # hears only about its own model (diagnostics_for), so nothing is logged here.
        self.diagnostics = self.matcher.diagnostics()
        for note in self.diagnostics:
            log.debug("catalog: %s", note)

    @classmethod
    def empty(cls, conf_dir=None) -> "ModelConfigRegistry":
        """A registry without models (device names from the conf tree), for register()."""
        registry = cls.__new__(cls)
        ModelConfigRegistry._start(registry, ConfTree.coerce(conf_dir, "ModelConfigRegistry"))
        registry._index()
        return registry

    def register(self, entry: ModelEntry) -> None:
        """Add a model entry, checked by the catalog rules first (ConfigValidationError);
        one with the same HF id is replaced, as the plugin's register_model does."""
        found = check_model({"architecture": entry.architecture,
                             "continuous_batching_configs": entry.continuous_batching_configs,
                             "static_batching_configs": entry.static_batching_configs,
                             "device_configs": entry.device_configs}, entry.option,
                            lambda _k: entry.files[-1] if entry.files else "")
        if found:
            raise ConfigValidationError(found, "invalid model entry")
        old = self._models.get(entry.name)
        if old is not None:  # replaced in place: its catalog order (for ties) is kept
            log.warning("model %r is already registered and is replaced", entry.name)
            self._options.pop(old.option, None)
        self._models[entry.name] = entry
        self._options[entry.option] = entry
        self._index()

    def _device_names(self) -> dict[int, str]:
        names: dict[int, str] = {}
        for root in reversed(self.tree.roots):
            for path in sorted((root / "device").glob("*.yaml")):
                data = read_conf_file(path)  # C loader; a syntax error names file and line
                if isinstance(data.get("tp_size"), int):
                    names[data["tp_size"]] = data.get("name", path.stem)
        return names

    # -- the seed's API -------------------------------------------------------------------
    def list_models(self) -> list[str]:
        """HF ids of every registered model, in catalog order."""
        return list(self._models)

    def list_options(self) -> list[str]:
        """Short option names (model=<option>), in catalog order."""
        return list(self._options)

    def get_model_config(self, name: str) -> ModelEntry:
        """The entry for an HF id or an option name."""
        return self._entry(name)

    def _entry(self, name: str) -> ModelEntry:
        entry = self._models.get(name) or self._options.get(name)
        if entry is None:
            hint = difflib.get_close_matches(name, [*self._models, *self._options], n=1)
            raise UnknownModelError(
                f"model {name!r} is not in the catalog." + (f" Did you mean {hint[0]!r}?" if hint
                                                            else "")
                + f" Valid options: {', '.join(self._options)}. Fix: model=<option>, or add "
                "conf/model/<option>.yaml (see README).")
        return entry

    def diagnostics_for(self, name: str) -> list[str]:
        """The catalog's tie/shadow findings that name this model (HF id or option)."""
        entry = self._entry(name)
        return [n for n in self.diagnostics if f" {entry.name} " in n]  # names are spaced

    def find_matching_model(self, model_config: Any) -> str | None:
        """HF id of the best pattern matching ``model_config.hf_config``, or None."""
        entry = self.match_entry(model_config)
        return entry.name if entry else None

    def match_entry(self, model_config: Any) -> ModelEntry | None:
        """The entry of the best pattern matching ``model_config.hf_config``, or None."""
        hf_config = getattr(model_config, "hf_config", None)
        if hf_config is None:
            log.info("No HF config available for matching")
            return None
        best = self.matcher.best(hf_config)
        if best is None:
            log.info("No matching model configuration found for %r: no catalog pattern matches "
                     "model_type=%r", getattr(model_config, "model", None),
                     getattr(hf_config, "model_type", None))
            return None
        return self._models[best.name]

    def get_configurator(self, name: str, sendnn_version: str | None = None,
                         strict: bool | None = None, tp_sizes=None) -> ModelConfigurator:
        """The model's configurator (its `configurator:` class, else DefaultConfigurator)
        holding every layout's settings, or only those of `tp_sizes`."""
        entry = self._entry(name)
        version = installed_sendnn_version() if sendnn_version is None else sendnn_version
        by_tp = {}
        for tp, dev in self.devices.items():
            raw = entry.device_configs.get(dev)
            if raw and (tp_sizes is None or tp in tp_sizes):
                by_tp[tp] = self.settings(entry, raw, version, tp)
        return make_configurator(entry, by_tp, strict)

    def get_configurator_for_runtime(self, vllm_config: Any, warmup_shapes=None,
                                     sendnn_version: str | None = None,
                                     strict: bool | None = None):
        """A configurator when the model and its runtime are supported, else None.

        Continuous batching brings the layout's device settings; a static match (any
        non-empty warmup_shapes) brings none, as in the plugin.
        """
        strict = strict_from_env() if strict is None else strict
        entry = self.match_entry(vllm_config.model_config)
        if entry is None:
            return _refuse(strict, UnknownModelError(
                "No model architecture match: no catalog model matches this checkpoint's "
                "config.json. Fix: add a model file (README: adding a model) or run without "
                "strict mode."))
        tp = vllm_config.parallel_config.world_size
        if warmup_shapes:
            if entry.static_entry(tp, warmup_shapes) is None:
                return _refuse(strict, _unsupported(entry, tp, f"warmup_shapes="
                                                    f"{[list(s) for s in normalize_shapes(warmup_shapes)]}"))
            return make_configurator(entry, {}, strict)
        mml = vllm_config.model_config.max_model_len
        mns = vllm_config.scheduler_config.max_num_seqs
        cb = entry.cb_entry(tp, mml, mns)
        if cb is None:
            return _refuse(strict, _unsupported(entry, tp, f"max_model_len={mml} max_num_seqs={mns}"))
        # the entry's own device_config, else its device option's block
        raw = entry.entry_settings(cb, self.devices.get(tp))
        version = installed_sendnn_version() if sendnn_version is None else sendnn_version
        return make_configurator(entry, {tp: self.settings(entry, raw, version, tp)} if raw
                                 else {}, strict)

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def settings(entry: ModelEntry, raw: Mapping, version: Any, tp: int | None = None
                 ) -> DeviceSettings:
        chunked = raw.get("chunked_prefill_config") or {}
        blocks = select_block_override(raw.get("num_gpu_blocks_override"), version,
                                       f"{entry.option}.num_gpu_blocks_override")
        return DeviceSettings(dict(raw.get("env_vars") or {}), blocks,
                              chunked.get("max_num_batched_tokens"), tp)

    def match_hf_config(self, hf_config: Any) -> list[ModelEntry]:
        """Every entry whose pattern matches, best first (for model=auto and explain)."""
        return [self._models[p.name] for p in self.matcher.all_matches(hf_config)]

    def check_shadows(self, hf_configs: Mapping[str, Any]) -> list[str]:
        """For HF configs keyed by HF id: models whose own config is taken by another."""
        notes = []
        for hf_id, config in hf_configs.items():
            best = self.matcher.best(config)
            if hf_id in self._models and best is not None and best.name != hf_id:
                notes.append(f"shadow: {hf_id}'s own config.json is matched as {best.name}.")
        return notes


def _unsupported(entry: ModelEntry, tp: int, asked: str):
    from spyre_hydra.errors import UnsupportedRuntimeError
    return UnsupportedRuntimeError(
        f"{entry.option} ({entry.name}) does not support tp{tp} with {asked}. Supported at "
        f"tp{tp}: {entry.describe_runtimes(tp)}. All: {entry.describe_runtimes()}.")


def _refuse(strict: bool, error: Exception):
    if strict:
        raise error
    if isinstance(error, UnknownModelError):
        log.warning("%s", error)
    else:
        log.warning("registered but does not support the requested runtime configuration: %s",
                    error)
    return None


_registries: dict[ConfTree, ModelConfigRegistry] = {}


def get_model_registry(conf_dir=None) -> ModelConfigRegistry:
    """The registry of a conf tree (a ConfTree, a user conf dir, or None for the shipped
    one), loaded once per tree."""
    tree = ConfTree.coerce(conf_dir, "get_model_registry")  # named errors, dir checked
    registry = _registries.get(tree)
    if registry is None:
        registry = _registries[tree] = ModelConfigRegistry(tree)
    return registry


def reset_registries() -> None:
    """Forget loaded registries (tests, and sweeps that edit conf files between jobs)."""
    _registries.clear()

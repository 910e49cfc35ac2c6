"""The plugin's ``model_config`` data classes, as views of spyre_hydra's catalog entries.

A ModelConfig converts to and from a :class:`spyre_hydra.catalog.model_entry.ModelEntry`
(``to_entry`` / ``from_entry``); ``from_dict`` reads the plugin's schema and checks it with
the catalog's own rules, so a plugin file and a conf tree are refused for the same reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spyre_hydra.catalog.matcher import Pattern
from spyre_hydra.catalog.model_entry import ModelEntry, normalize_shapes
from spyre_hydra.catalog.rules import check_architecture, check_model
from spyre_hydra.catalog.summary import DeviceSettings
from spyre_hydra.conftree.versions import LEGACY_SPECIFIERS
from spyre_hydra.errors import ConfigValidationError


class ArchitecturePattern(Pattern):
    """spyre_hydra's Pattern under the plugin's constructor: (model_name, model_type,
    attributes); ``field_count`` and matching are the Pattern's."""

    def __init__(self, model_name: str, model_type: str, attributes=None, priority: int = 0,
                 order: int = 0):
        super().__init__(model_name, model_type, dict(attributes or {}), priority, order)

    @classmethod
    def from_dict(cls, model_name: str, data: Mapping[str, Any]) -> "ArchitecturePattern":
        """From an ``architecture:`` mapping; a None value is a ConfigValidationError
        (a ValueError), as in the plugin."""
        problems = check_architecture(data, f"{model_name}.architecture", lambda _k: "")
        if problems:
            raise ConfigValidationError(problems, f"invalid architecture of {model_name!r}")
        return cls(model_name, data["model_type"],
                   {k: v for k, v in data.items() if k != "model_type"})


class DeviceConfig(DeviceSettings):
    """spyre_hydra's DeviceSettings under the plugin's constructor (tp_size first).

    ``num_gpu_blocks_override`` may still be a version mapping here; the configurator
    selects the block count for the installed torch_sendnn."""

    def __init__(self, tp_size: int, env_vars=None, num_gpu_blocks_override=None,
                 max_num_batched_tokens=None):
        super().__init__(dict(env_vars or {}), num_gpu_blocks_override, max_num_batched_tokens,
                         tp_size)

    @classmethod
    def from_dict(cls, tp_size: int, data: Mapping[str, Any]) -> "DeviceConfig":
        chunked = data.get("chunked_prefill_config") or {}
        return cls(tp_size, data.get("env_vars") or {}, data.get("num_gpu_blocks_override"),
                   chunked.get("max_num_batched_tokens"))

    def to_raw(self) -> dict:
        """The settings in the catalog's schema (a device_config / device_configs block)."""
        raw: dict[str, Any] = {"env_vars": dict(self.env_vars)}
        blocks = self.num_gpu_blocks_override
        if isinstance(blocks, Mapping):  # the plugin's version key is a PEP 440 specifier here
            blocks = {LEGACY_SPECIFIERS.get(str(k), str(k)): v for k, v in blocks.items()}
        if blocks is not None:
            raw["num_gpu_blocks_override"] = blocks
        if self.max_num_batched_tokens is not None:
            raw["chunked_prefill_config"] = {"max_num_batched_tokens":
                                             self.max_num_batched_tokens}
        return raw


@dataclass(frozen=True)
class WarmupShape:
    """A static-batching shape in the plugin's 2-field form (pooling models)."""

    prompt_len: int
    batch_size: int

    def to_tuple(self) -> tuple[int, int]:
        return (self.prompt_len, self.batch_size)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "WarmupShape":
        try:
            return cls(int(data["prompt_len"]), int(data["batch_size"]))
        except KeyError as exc:
            raise ValueError(f"Warmup shape must have 'prompt_len' and 'batch_size' keys. "
                             f"Missing key: {exc}. Fix: write {{prompt_len: 512, batch_size: "
                             "64}.") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Warmup shape values must be valid integers: {exc}. Fix: give "
                             "prompt_len and batch_size as integers.") from None


@dataclass
class StaticBatchingConfig:
    tp_size: int
    warmup_shapes: list

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "StaticBatchingConfig":
        return cls(data["tp_size"], [WarmupShape.from_dict(s) for s in data["warmup_shapes"]])


@dataclass
class ContinuousBatchingConfig:
    tp_size: int
    max_model_len: int
    max_num_seqs: int
    device_config: DeviceConfig | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ContinuousBatchingConfig":
        dev = data.get("device_config")
        return cls(data["tp_size"], data["max_model_len"], data["max_num_seqs"],
                   None if dev is None else DeviceConfig.from_dict(data["tp_size"], dev))


@dataclass
class ModelConfig:
    """One catalog model in the plugin's shape (no ``device_configs``: each CB entry carries
    its own device_config, the catalog's per-entry override)."""

    name: str
    architecture: Any
    platforms: list = field(default_factory=list)
    static_batching_configs: list = field(default_factory=list)
    continuous_batching_configs: list = field(default_factory=list)

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> "ModelConfig":
        """From one entry of the plugin's ``models:``, checked with the catalog rules
        (a ConfigValidationError, which is a ValueError, lists every problem)."""
        static = [StaticBatchingConfig.from_dict(s) for s in data.get("static_batching_configs")
                  or []]
        cb = [ContinuousBatchingConfig.from_dict(c) for c in
              data.get("continuous_batching_configs") or []]
        arch = data.get("architecture")
        config = cls(name, arch, list(data.get("platforms") or []), static, cb)
        problems = check_model(config._tree(), name, lambda _k: "")
        if problems:
            raise ConfigValidationError(problems, f"invalid model {name!r}")
        config.architecture = ArchitecturePattern.from_dict(name, arch)
        return config

    def _tree(self) -> dict:
        arch = self.architecture
        if isinstance(arch, Pattern):
            arch = {"model_type": arch.model_type, **dict(arch.attributes)}
        cb = []
        for c in self.continuous_batching_configs:
            item = {"tp_size": c.tp_size, "max_model_len": c.max_model_len,
                    "max_num_seqs": c.max_num_seqs}
            if c.device_config is not None:
                item["device_config"] = c.device_config.to_raw()
            cb.append(item)
        static = [{"tp_size": s.tp_size, "warmup_shapes": [list(w.to_tuple())
                                                           for w in s.warmup_shapes]}
                  for s in self.static_batching_configs]
        return {"hf_id": self.name, "family": "plugin", "architecture": dict(arch or {}),
                "platforms": list(self.platforms), "continuous_batching_configs": cb,
                "static_batching_configs": static, "device_configs": {}}

    def to_entry(self, files=()) -> ModelEntry:
        """The catalog entry (option = the model's name) spyre_hydra's registry holds."""
        return ModelEntry.from_tree(self._tree(), self.name, list(files))

    @classmethod
    def from_entry(cls, entry: ModelEntry, devices: Mapping[int, str]) -> "ModelConfig":
        """The view of a catalog entry: each CB entry with the settings it runs with (its
        own device_config, else its device option's block); ``devices`` maps tp -> option."""
        arch = dict(entry.architecture)
        cb = []
        for c in entry.continuous_batching_configs:
            raw = entry.entry_settings(c, devices.get(c["tp_size"]))
            cb.append(ContinuousBatchingConfig(
                c["tp_size"], c["max_model_len"], c["max_num_seqs"],
                DeviceConfig.from_dict(c["tp_size"], raw) if raw else None))
        static = [StaticBatchingConfig(s["tp_size"], [WarmupShape(p, b) for p, _, b in
                                                      normalize_shapes(s["warmup_shapes"])])
                  for s in entry.static_batching_configs]
        pattern = ArchitecturePattern(entry.name, arch.pop("model_type"), arch)
        return cls(entry.name, pattern, list(entry.platforms), static, cb)


RuntimeConfig = StaticBatchingConfig | ContinuousBatchingConfig

__all__ = ["ArchitecturePattern", "ContinuousBatchingConfig", "DeviceConfig", "ModelConfig",
           "RuntimeConfig", "StaticBatchingConfig", "WarmupShape"]

"""Apply a model's device settings to a vLLM config, the way the plugin does, but safely.

Env vars are set only when unset; a different existing value is kept and reported; a user's
num_gpu_blocks_override / max_num_batched_tokens is kept and reported. Strict mode turns each
such conflict into :class:`ConfigConflictError`. Everything is checked before anything is
changed, so a failure leaves the process environment and the vLLM config untouched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigConflictError

log = logging.getLogger(__name__)
STRICT_ENV = "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"


def strict_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """True when SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG is set to a true value."""
    value = (environ if environ is not None else os.environ).get(STRICT_ENV, "")
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"", "0", "false", "no", "off"}:
        return False
    raise ConfigConflictError(f"{STRICT_ENV}={value!r} is not a boolean. Valid: 1, true, yes, "
                              f"on / 0, false, no, off. Fix: export {STRICT_ENV}=1 (or unset it).")


@dataclass
class ConfigValue:
    """A setting's model default and the value actually in force."""

    default: Any
    applied: Any

    def was_overridden(self) -> bool:
        return str(self.default) != str(self.applied)

    def line(self, name: str) -> str:
        if self.was_overridden():
            return f"{name}={self.applied} ⚠ (default: {self.default})"
        return f"{name}={self.applied} ✓"


@dataclass
class ConfigurationSummary:
    """What a configurator set or found, for logs and the plan."""

    model_name: str
    tp_size: int
    env_vars: dict[str, ConfigValue] = field(default_factory=dict)
    num_blocks: ConfigValue | None = None
    max_num_batched_tokens: ConfigValue | None = None

    def conflicts(self) -> list[str]:
        items = [(k, v) for k, v in self.env_vars.items()]
        items += [("num_gpu_blocks_override", self.num_blocks),
                  ("max_num_batched_tokens", self.max_num_batched_tokens)]
        return [v.line(k) for k, v in items if v is not None and v.was_overridden()]

    def format_log_message(self) -> str:
        lines = [f"Applied registry configuration for '{self.model_name}' (TP={self.tp_size}):"]
        if self.env_vars:
            lines.append("  Environment variables:")
            lines += [f"    {v.line(k)}" for k, v in self.env_vars.items()]
        for name, value in (("num_gpu_blocks_override", self.num_blocks),
                            ("max_num_batched_tokens", self.max_num_batched_tokens)):
            if value is not None:
                lines.append(f"  {value.line(name)}")
        if len(lines) == 1:
            lines.append("  no device-specific configs")
        return "\n".join(lines)


@dataclass(frozen=True)
class DeviceSettings:
    """A model's settings for one layout, with the block count already version-selected."""

    env_vars: Mapping[str, Any] = field(default_factory=dict)
    num_gpu_blocks_override: int | None = None
    max_num_batched_tokens: int | None = None


class DefaultConfigurator:
    """Applies one model's device settings to a VllmConfig (or any object shaped like one)."""

    def __init__(self, model_name: str, device_configs: Mapping[int, DeviceSettings],
                 strict: bool | None = None):
        self.model_name = model_name
        self.device_configs = dict(device_configs)
        self.strict = strict_from_env() if strict is None else strict

    def get_device_config(self, tp_size: int) -> DeviceSettings | None:
        """The settings for a tensor parallel size, or None."""
        return self.device_configs.get(tp_size)

    def preview(self, vllm_config: Any, environ: Mapping[str, str] | None = None):
        """The summary configure() would produce, changing nothing."""
        environ = os.environ if environ is None else environ
        tp_size = vllm_config.parallel_config.world_size
        summary = ConfigurationSummary(self.model_name, tp_size)
        settings = self.get_device_config(tp_size)
        if settings is None:
            return summary
        for key, value in settings.env_vars.items():
            summary.env_vars[key] = ConfigValue(str(value), environ.get(key, str(value)))
        blocks = settings.num_gpu_blocks_override
        if blocks is not None:
            user = vllm_config.cache_config.num_gpu_blocks_override
            summary.num_blocks = ConfigValue(blocks, blocks if user is None else user)
        tokens = settings.max_num_batched_tokens
        if tokens is not None:
            user = getattr(vllm_config.scheduler_config, "max_num_batched_tokens", None)
            summary.max_num_batched_tokens = ConfigValue(tokens, tokens if user is None else user)
        return summary

    def check(self, summary: ConfigurationSummary) -> None:
        """Strict mode: refuse every setting that differs from the model default."""
        conflicts = summary.conflicts()
        if self.strict and conflicts:
            raise ConfigConflictError(
                f"model {self.model_name!r} at tp{summary.tp_size} requires its known settings "
                f"(strict mode), but: {'; '.join(conflicts)}. Fix: unset the env var / drop the "
                f"user value, or run without strict=true / {STRICT_ENV}=1.")
        for line in conflicts:
            log.warning("kept a user value over the model default: %s", line)

    def configure(self, vllm_config: Any, environ: MutableMapping[str, str] | None = None):
        """Apply the settings for vllm_config's tp size and return the summary."""
        environ = os.environ if environ is None else environ
        summary = self.preview(vllm_config, environ)
        self.check(summary)  # raises before anything below changes state
        added: list[str] = []
        try:
            for key, value in summary.env_vars.items():
                if key not in environ:
                    environ[key] = str(value.default)
                    added.append(key)
            if summary.num_blocks is not None:
                vllm_config.cache_config.num_gpu_blocks_override = summary.num_blocks.applied
            if summary.max_num_batched_tokens is not None:
                vllm_config.scheduler_config.max_num_batched_tokens = (
                    summary.max_num_batched_tokens.applied)
        except Exception:
            for key in added:
                environ.pop(key, None)
            raise
        log.info("%s", summary.format_log_message())
        return summary

    def set_env_var(self, key: str, value: Any, override: bool = False) -> ConfigValue:
        """Set one env var (only when unset unless override) and report what is in force."""
        existing = os.environ.get(key)
        if existing is not None and not override:
            result = ConfigValue(str(value), existing)
            if result.was_overridden() and self.strict:
                raise ConfigConflictError(f"{key} is set to {existing!r}; model {self.model_name!r}"
                                          f" needs {value!r}. Fix: unset {key}.")
            return result
        os.environ[key] = str(value)
        return ConfigValue(str(value), str(value))

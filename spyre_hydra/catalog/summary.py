"""What a configurator applies (DeviceSettings) and what it found in force (the summary).

Plain data with no imports beyond the standard library, shared by the configurators, the
registry and the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ConfigValue:
    """A setting's model default and the value actually in force."""

    default: Any
    applied: Any

    def was_overridden(self) -> bool:
        return str(self.default) != str(self.applied)

    def __eq__(self, other: object) -> bool:
        # As in the plugin: `summary.env_vars["X"] == "value"` compares the value in force.
        if isinstance(other, ConfigValue):
            return (self.default, self.applied) == (other.default, other.applied)
        return self.applied == other

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

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
    tp_size: int | None = None  # the layout they are for (the plugin's DeviceConfig.tp_size)

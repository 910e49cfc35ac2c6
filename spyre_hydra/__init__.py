"""spyre_hydra: Hydra/OmegaConf composition of vLLM-on-Spyre model settings.

Importing the package is cheap: names load on first use, and nothing here imports torch
or vllm.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "get_model_registry": "registry",
    "reset_registries": "registry",
    "ModelConfigRegistry": "registry",
    "ModelEntry": "entry",
    "ModelMatcher": "matcher",
    "Pattern": "matcher",
    "DefaultConfigurator": "configurator",
    "ModelConfigurator": "configurator",
    "ConfigurationSummary": "configurator",
    "ConfigValue": "configurator",
    "register_resolvers": "resolvers",
    "installed_sendnn_version": "versions",
    "select_block_override": "versions",
    "compose": "front",
    "check_point": "front",
    "plan_from_config": "front",
    "compose_launch": "composer",
    "LaunchPlan": "launchplan",
    "Provenance": "launchplan",
    "build_plan": "plan",
    "SpyreHydraError": "errors",
    "ConfigValidationError": "errors",
    "UnknownOptionError": "errors",
    "UnknownModelError": "errors",
    "UnsupportedRuntimeError": "errors",
    "ConfigConflictError": "errors",
    "VersionError": "errors",
    "PlatformError": "errors",
    "LegacyFormatError": "errors",
    "EngineArgsError": "errors",
    "EngineError": "errors",
    "PlanMismatchError": "errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spyre_hydra' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

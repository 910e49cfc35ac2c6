"""spyre_hydra: Hydra/OmegaConf composition of vLLM-on-Spyre model settings.

Importing the package is cheap: names load on first use, and nothing here imports torch
or vllm.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "__version__": "_version",
    "get_model_registry": "catalog.registry",
    "reset_registries": "catalog.registry",
    "ModelConfigRegistry": "catalog.registry",
    "ModelEntry": "catalog.model_entry",
    "ModelMatcher": "catalog.matcher",
    "Pattern": "catalog.matcher",
    "DefaultConfigurator": "catalog.configurator",
    "ModelConfigurator": "catalog.configurator",
    "ConfigurationSummary": "catalog.configurator",
    "ConfigValue": "catalog.configurator",
    "register_resolvers": "conftree.resolvers",
    "installed_sendnn_version": "conftree.versions",
    "select_block_override": "conftree.versions",
    "compose": "plan.front",
    "check_point": "plan.front",
    "plan_from_config": "plan.front",
    "compose_launch": "conftree.compose",
    "LaunchPlan": "plan.launchplan",
    "Provenance": "plan.launchplan",
    "build_plan": "plan.build",
    "RunInputs": "plan.launchplan",
    "ConfTree": "conftree.tree",
    "vllm_config": "engine.launchenv",
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

__all__ = [*_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spyre_hydra' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

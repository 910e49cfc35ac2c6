"""The plugin's ``configurators`` package."""

from spyre_hydra.compat.sendnn_inference.config.configurators.model_configurator import (
    ModelConfigurator,
)

__all__ = ["ModelConfigurator"]

"""The plugin's ``model_configurator`` module: spyre_hydra's configurator and summary.

``ModelConfigurator(model_config, device_config)`` is spyre_hydra's DefaultConfigurator
built from the plugin's arguments; every spyre_hydra configurator (a catalog model's own
``configurator:`` class too) is an instance of it, as the plugin's callers check.
"""

from __future__ import annotations

from spyre_hydra.catalog.configurator import DefaultConfigurator
from spyre_hydra.catalog.configurator import ModelConfigurator as _Configurator
from spyre_hydra.catalog.summary import ConfigurationSummary, ConfigValue, DeviceSettings
from spyre_hydra.compat.sendnn_inference.platform import sendnn_version_text
from spyre_hydra.conftree.versions import select_block_override


class _AnyConfigurator(type):
    """isinstance(x, ModelConfigurator) holds for every spyre_hydra configurator: the
    registry builds the model's own class (or DefaultConfigurator), not this adapter."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, _Configurator)


class ModelConfigurator(DefaultConfigurator, metaclass=_AnyConfigurator):
    """The plugin's constructor over spyre_hydra's configurator: ``device_config`` (a
    DeviceConfig, or None for no settings) is applied at its tp_size, its block count
    selected for the installed torch_sendnn version."""

    def __init__(self, model_config, device_config=None, strict: bool | None = None):
        settings = {}
        if device_config is not None:
            blocks = select_block_override(device_config.num_gpu_blocks_override,
                                           sendnn_version_text(),
                                           f"{model_config.name}.num_gpu_blocks_override")
            settings[device_config.tp_size] = DeviceSettings(
                dict(device_config.env_vars), blocks, device_config.max_num_batched_tokens,
                device_config.tp_size)
        super().__init__(model_config.name, settings, strict)
        self.model_config = model_config
        self._plugin_device = device_config

    @property
    def device_config(self):
        """The DeviceConfig it was built with (the plugin's attribute)."""
        return self._plugin_device


__all__ = ["ConfigValue", "ConfigurationSummary", "ModelConfigurator"]

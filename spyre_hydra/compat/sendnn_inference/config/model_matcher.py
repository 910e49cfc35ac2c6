"""The plugin's ``model_matcher`` module: spyre_hydra's matcher, whose ``matches(hf_config,
pattern)`` has the plugin's semantics (see spyre_hydra.catalog.matcher)."""

from spyre_hydra.catalog.matcher import ModelMatcher

__all__ = ["ModelMatcher"]

"""The plugin's ``envs`` names the config API reads, always read live from os.environ.

The plugin caches its variables (``clear_env_cache`` drops the cache); here nothing is
cached, so ``clear_env_cache`` has nothing to do.
"""

from __future__ import annotations

import os


def clear_env_cache() -> None:
    """Nothing to clear: every name below is read from os.environ when asked for."""


def __getattr__(name: str):
    if name == "SENDNN_INFERENCE_MODEL_CONFIG_FILE":
        return os.environ.get(name) or None
    if name == "SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG":
        from spyre_hydra.catalog.configurator import strict_from_env

        return strict_from_env()  # this name or SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The compat registry is a process-wide singleton (the plugin's get_instance): each test
starts and ends without one."""

from __future__ import annotations

import pytest

from spyre_hydra.compat.sendnn_inference.config.model_registry import ModelConfigRegistry


@pytest.fixture(autouse=True)
def no_registry_instance(unset_env):
    unset_env("SENDNN_INFERENCE_MODEL_CONFIG_FILE", "SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG",
              "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG")
    ModelConfigRegistry._instance, ModelConfigRegistry._initialized = None, False
    yield
    ModelConfigRegistry._instance, ModelConfigRegistry._initialized = None, False

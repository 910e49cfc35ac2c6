"""A plugin-schema file whose entries the plugin's own from_dict cannot read (a scalar
architecture, a missing key, a shape list instead of {prompt_len, batch_size}): one error
listing every such entry, naming model, key and fix, that is still the ValueError /
KeyError / TypeError the plugin's callers catch; nothing is registered."""

from __future__ import annotations

import pytest

from spyre_hydra.compat.sendnn_inference.config.model_registry import (
    ModelConfigRegistry,
    PluginFileError,
)
from spyre_hydra.errors import ConfigValidationError

FILE = """\
models:
  scalar_arch:
    architecture: 5
  no_len:
    architecture: {model_type: granite}
    continuous_batching_configs:
      - {tp_size: 1, max_num_seqs: 4}
  list_shape:
    architecture: {model_type: bert}
    static_batching_configs: [{tp_size: 1, warmup_shapes: [[64, 4]]}]
  fine:
    architecture: {model_type: llama}
    continuous_batching_configs: [{tp_size: 1, max_model_len: 512, max_num_seqs: 4}]
"""


def test_entries_the_plugin_cannot_read_are_listed_at_once(tmp_path):
    path = tmp_path / "model_configs.yaml"
    path.write_text(FILE)
    registry = ModelConfigRegistry()
    with pytest.raises(PluginFileError) as info:
        registry.initialize(path)
    text = str(info.value)
    assert text.startswith(f"invalid model configurations in {path} (3 problems):\n")
    assert (f"  - scalar_arch (in {path}): not in the plugin's schema ('int' object is not "
            "iterable). Fix: write the entry as the plugin's model_configs.yaml does") in text
    assert (f"  - no_len (in {path}): required key 'max_model_len' is missing (in its "
            "architecture or a runtime entry). Fix: add it") in text
    assert "  - list_shape (in " in text and "Warmup shape values must be valid integers" in text
    for kind in (ValueError, KeyError, TypeError, ConfigValidationError):
        assert isinstance(info.value, kind)
    assert registry.list_models() == []  # the good entry is not registered either

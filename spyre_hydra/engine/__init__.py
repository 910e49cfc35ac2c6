"""Engine side of spyre_hydra: backend detection/env, tiny local checkpoints, building
vLLM's VllmConfig and running/serving it.

Submodules import torch/vllm lazily inside functions; importing this package is cheap
and safe without vllm installed.
"""

from spyre_hydra.engine.backend import backend_env, detect_backend
from spyre_hydra.engine.tiny_model import ensure_tiny_model

__all__ = ["backend_env", "detect_backend", "ensure_tiny_model"]

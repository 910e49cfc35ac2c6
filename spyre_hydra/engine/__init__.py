"""Engine side of spyre_hydra: the launch env, tiny local checkpoints, building vLLM's
VllmConfig from a LaunchPlan, checking it against the plan and running/serving it.

Submodules import torch/vllm lazily inside functions; importing this package is cheap
and safe without vllm installed.
"""

from spyre_hydra.conftree.backends import detect_backend
from spyre_hydra.engine.launchenv import backend_env, launch_env, vllm_config
from spyre_hydra.engine.tiny_model import ensure_tiny_model

__all__ = ["backend_env", "detect_backend", "ensure_tiny_model", "launch_env", "vllm_config"]

"""Pick the execution backend and the environment it needs, without importing it.

Detection reads installed-distribution metadata only: importing torch_sendnn (or torch,
or vllm) costs seconds and, for torch_sendnn, can try to open the card. The env must be
in place *before* vllm / sendnn_inference are imported, because both read their env
vars at import or platform-plugin load time.
"""

from __future__ import annotations

import importlib.metadata as md
import socket

BACKENDS = ("sendnn", "eager", "cpu")

# Distribution names as published; importlib.metadata normalizes '-'/'_' on 3.10+, the
# second spelling is only a belt for odd installers.
_TORCH_SENDNN = ("torch_sendnn", "torch-sendnn")
_SPYRE_PLUGIN = ("sendnn-inference", "sendnn_inference")


def _installed(names: tuple[str, ...]) -> bool:
    for name in names:
        try:
            md.distribution(name)
            return True
        except md.PackageNotFoundError:
            continue
    return False


def detect_backend() -> str:
    """'sendnn' when the card stack (torch_sendnn) is installed, 'eager' when only the
    Spyre plugin is (CPU emulation through the plugin), else 'cpu' (plain vLLM)."""
    if _installed(_TORCH_SENDNN):
        return "sendnn"
    if _installed(_SPYRE_PLUGIN):
        return "eager"
    return "cpu"


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (racy by nature; good enough for gloo rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def backend_env(name: str, *, port: int | None = None) -> dict[str, str]:
    """Exactly the env vars backend `name` needs; the caller merges them into os.environ
    (or a subprocess env) before importing vllm.

    Names come from the installed sendnn-inference 2.6.3 source (envs.py, platform.py,
    v1/worker/spyre_worker.py, model_executor/model_loader/spyre_setup.py).
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
    # Every backend: never reach for a model hub (no internet; checkpoints are local).
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if name == "cpu":
        # VLLM_PLUGINS=none stops the sendnn_inference platform plugin from loading even
        # when installed, so vLLM's own CPU platform is used. vLLM's CPU KV cache
        # defaults to a share of RAM; 1 GiB is plenty for tiny models and for CI.
        env.update({"VLLM_PLUGINS": "none", "VLLM_CPU_KVCACHE_SPACE": "1"})
        return env
    # Spyre plugin (eager emulation or real card). SpyreWorker.init_device always calls
    # torch.distributed init with backend gloo and init_method "env://", even at tp=1,
    # so MASTER_ADDR/MASTER_PORT are mandatory; a fixed port collides between runs.
    env.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port if port is not None else free_port()),
        }
    )
    if name == "eager":
        # "eager" skips torch.compile entirely: the model runs as plain FMS on CPU.
        env["SENDNN_INFERENCE_DYNAMO_BACKEND"] = "eager"
        return env
    # Real card. 'sendnn' is also the plugin's default, set explicitly for clarity.
    # spyre_setup() does os.environ.setdefault("FLEX_COMPUTE", "SENULATOR") -- the
    # simulator -- so the hardware target must be set by us.
    env.update(
        {
            "SENDNN_INFERENCE_DYNAMO_BACKEND": "sendnn",
            "FLEX_COMPUTE": "SENTIENT",
        }
    )
    return env


def describe(name: str) -> str:
    return {
        "sendnn": "IBM Spyre card via torch_sendnn (sendnn-inference plugin, backend=sendnn)",
        "eager": "Spyre plugin on CPU, torch.compile skipped (backend=eager)",
        "cpu": "plain vLLM CPU platform (plugins disabled)",
    }[name]

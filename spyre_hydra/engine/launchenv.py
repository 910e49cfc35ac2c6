"""What a LaunchPlan needs around vLLM: the launch env and the final engine arguments.

Kept apart from spyre_hydra.engine.modes (which runs the engine) so that
LaunchPlan.vllm_config can use it without an import circle: this module takes a plan by its
attributes and imports neither the plan module nor the modes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from spyre_hydra.engine.backend import backend_conf, detect_backend, dynamic_env, model_config_file
from spyre_hydra.errors import EngineArgsError

MODEL_CONFIG_ENV = "SENDNN_INFERENCE_MODEL_CONFIG_FILE"


def backend_name(plan) -> str:
    """The plan's backend; `auto` (a sweep whose params name no backend) is detected here."""
    return detect_backend() if plan.backend == "auto" else plan.backend


def launch_env(plan, mode: str, conf_dir=None, environ=None) -> dict[str, str]:
    """Every variable this launch sets (only where unset): the plan's env, then per-launch
    bits -- MASTER_PORT, the exported catalog for the plugin, logging on stderr."""
    environ = os.environ if environ is None else environ
    name = backend_name(plan)
    env = plan.promised_env()
    if plan.backend == "auto":
        env = {**{k: str(v) for k, v in backend_conf(name, conf_dir)["env"].items()}, **env}
    env.update(dynamic_env(name, environ))
    if name != "cpu" and MODEL_CONFIG_ENV not in environ:
        env[MODEL_CONFIG_ENV] = str(model_config_file(plan.sendnn_version, conf_dir))
    env["VLLM_LOGGING_STREAM"] = "ext://sys.stderr"  # stdout carries the result only
    if mode == "generate":  # engine core in this process: no IPC, ~0.5 s faster to start
        env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    return {k: v for k, v in env.items() if k not in environ}


def resolve_engine_args(plan, conf_dir=None) -> dict[str, Any]:
    """The plan's engine args ready for EngineArgs: builtin:<tiny> built and cached, None
    defaults dropped, served under the catalog name when loaded from a path."""
    args = plan.engine_args()
    if plan.backend == "auto":
        for key, value in backend_conf(backend_name(plan), conf_dir)["engine_args"].items():
            args.setdefault(key, value)
    model = str(args["model"])
    if model.startswith("builtin:"):
        args["model"] = str(_builtin_checkpoint(model))
    if args["model"] != plan.model:
        args.setdefault("served_model_name", plan.model)
    return args


def _builtin_checkpoint(model: str) -> Path:
    """builtin:tiny_<kind> -> its cached directory, built on first use in a child process:
    torch/OpenMP threads started here would hang the engine-core process vLLM forks."""
    import subprocess

    from spyre_hydra.engine.tiny_model import KINDS, cache_root, is_valid

    kind = model.split(":", 1)[1].removeprefix("tiny_")
    if kind not in KINDS:
        raise EngineArgsError(f"model {model!r}: no such builtin checkpoint. Valid: "
                              f"{', '.join('builtin:tiny_' + k for k in KINDS)}. Fix: "
                              "model.path=builtin:tiny_granite or a checkpoint directory.")
    target = cache_root() / f"tiny-{kind}"
    if not is_valid(target, kind):
        proc = subprocess.run([sys.executable, "-m", "spyre_hydra.engine.tiny_model", kind],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:  # e.g. transformers missing outside the engine venv
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise EngineArgsError(f"model {model!r} could not be built in {target}: {last}. "
                                  "Fix: run in the engine venv (bash launch/setup_engine.sh).")
    return target

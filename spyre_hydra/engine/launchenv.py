"""What a LaunchPlan needs around vLLM: the launch env, the final engine arguments and the
VllmConfig they give.

`launch_env` is the one builder of a launch's environment: spyre-launch (run_mode), the vLLM
plugin, deploy bundles and sweep jobs all call it. The backend table
(spyre_hydra.conftree.backends) says what a backend needs, the mode table
(spyre_hydra.conftree.modes) what a mode adds; the plan carries its conf roots, so nothing
here reads Hydra's state.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spyre_hydra.conftree.backends import MODEL_CONFIG_ENV, Backend, backend_spec, detect_backend
from spyre_hydra.errors import EngineArgsError


def backend_name(plan) -> str:
    """The plan's backend; `auto` (a sweep whose params name no backend) is detected here."""
    return detect_backend(plan.conf_tree) if plan.backend == "auto" else plan.backend


def plan_backend(plan) -> Backend:
    """The backend table's entry for the backend this plan runs on."""
    return backend_spec(backend_name(plan), plan.conf_tree)


def backend_env(name: str, *, port: int | None = None, conf_dir=None) -> dict[str, str]:
    """Exactly the env vars backend `name` needs (its conf file's env plus a MASTER_PORT when
    it runs the Spyre plugin); the caller merges them into os.environ or a subprocess env
    before importing vllm. `conf_dir`: a ConfTree, a user conf dir or None."""
    from spyre_hydra.conftree.tree import ConfTree

    spec = backend_spec(name, ConfTree.coerce(conf_dir, "backend_env"))
    env = dict(spec.env)
    env.update(_port(spec, {}, port))
    return env


def _port(spec: Backend, environ: Mapping[str, str], port) -> dict[str, str]:
    # SpyreWorker joins a gloo group via env:// even at tp=1, and a fixed port collides
    # between concurrent runs: a free one per launch, unless the user's environ has one.
    if not spec.spyre_plugin or "MASTER_PORT" in environ:
        return {}
    if port is None:
        from spyre_hydra.engine.ports import free_port

        port = free_port()
    return {"MASTER_PORT": str(port)}


def launch_env(plan, mode: str | None = None, environ: Mapping[str, str] | None = None, *,
               port: int | str | None = None, model_config: str | None = None) -> dict[str, str]:
    """Every variable this launch sets, only names `environ` does not have: the plan's
    backend and model env; for a backend running the Spyre plugin a MASTER_PORT (`port`,
    else a free one) and the exported catalog (`model_config`, else the cached export of
    the plan's conf tree); then what `mode` (default: the plan's) adds per the mode table.
    mode="" adds nothing for a mode (the vLLM plugin, bundles)."""
    from spyre_hydra.conftree.modes import MODES

    environ = os.environ if environ is None else environ
    spec = plan_backend(plan)
    env = plan.promised_env()
    if plan.backend == "auto":
        env = {**spec.env, **env}
    env.update(_port(spec, environ, port))
    if spec.spyre_plugin and MODEL_CONFIG_ENV not in environ:
        if model_config is None:
            from spyre_hydra.legacy.plugin_file import model_config_file

            model_config = str(model_config_file(plan.sendnn_version, plan.conf_tree))
        env[MODEL_CONFIG_ENV] = str(model_config)
    mode_spec = MODES.get(plan.mode if mode is None else mode)
    env.update(mode_spec.env if mode_spec else {})
    return {k: v for k, v in env.items() if k not in environ}


def resolve_engine_args(plan) -> dict[str, Any]:
    """The plan's engine args ready for EngineArgs: builtin:<tiny> built and cached, None
    defaults dropped, served under the catalog name when loaded from a path."""
    args = plan.engine_args()
    if plan.backend == "auto":
        for key, value in plan_backend(plan).engine_args.items():
            args.setdefault(key, value)
    model = str(args["model"])
    if model.startswith("builtin:"):
        args["model"] = str(_builtin_checkpoint(model))
    if args["model"] != plan.model:
        args.setdefault("served_model_name", plan.model)
    return args


def vllm_config(plan, environ: Mapping[str, str] | None = None):
    """vLLM's VllmConfig for a plan (imports vLLM; sets the launch env in os.environ first,
    as vLLM reads it at import and the engine started from the config later). A checkpoint
    that cannot be loaded here raises EngineError, as mode=config does."""
    from spyre_hydra.engine.build import build_vllm_config
    from spyre_hydra.plan.engine_checks import check_model

    environ = os.environ if environ is None else environ
    args, env = resolve_engine_args(plan), launch_env(plan, "config", environ)
    check_model(args, "config", {**environ, **env})  # before seconds of vLLM imports
    return build_vllm_config(args, env)


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
    root = cache_root()
    target = root / f"tiny-{kind}"
    if not is_valid(target, kind):
        # the root goes along: an untrusted cache gives each process its own private dir
        proc = subprocess.run([sys.executable, "-m", "spyre_hydra.engine.tiny_model", kind,
                               str(root)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:  # e.g. transformers missing outside the engine venv
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise EngineArgsError(f"model {model!r} could not be built in {target}: {last}. "
                                  "Fix: run in the engine venv (bash launch/setup_engine.sh).")
    return target


__all__ = ["MODEL_CONFIG_ENV", "backend_env", "backend_name", "launch_env", "plan_backend",
           "resolve_engine_args", "vllm_config"]

"""Turn a composed `engine_args` dict + backend env into vLLM's real VllmConfig.

The VllmConfig is built exactly the way `vllm serve` builds it
(EngineArgs(...).create_engine_config()), so platform hooks -- in particular the Spyre
plugin's SpyrePlatform.check_and_update_config -- run and their edits (worker_cls,
block_size 64, num_gpu_blocks_override, VLLM_DT_* env vars) are visible in the result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import os
import sys
from typing import Any, Iterator, Mapping

try:  # the project's shared exception type, when that module exists
    from spyre_hydra.errors import EngineArgsError
except ImportError:  # pragma: no cover - fallback while the project is assembled

    class EngineArgsError(ValueError):
        """An engine_args key or value vLLM's EngineArgs does not accept."""


def engine_arg_names() -> list[str]:
    from vllm.engine.arg_utils import EngineArgs

    return [f.name for f in dataclasses.fields(EngineArgs)]


def validate_engine_args(engine_args: Mapping[str, Any]) -> None:
    """Reject unknown keys up front, naming the nearest valid fields: EngineArgs(**kw)
    would only say "unexpected keyword argument" without suggestions."""
    valid = engine_arg_names()
    valid_set = set(valid)
    unknown = [k for k in engine_args if k not in valid_set]
    if not unknown:
        return
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, valid, n=5, cutoff=0.5)
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        parts.append(f"{key!r}{hint}")
    raise EngineArgsError(
        f"unknown vLLM engine argument(s): {'; '.join(parts)}. "
        f"Valid names are the fields of vllm.engine.arg_utils.EngineArgs."
    )


@contextlib.contextmanager
def applied_env(env: Mapping[str, str], *, keep: bool = True) -> Iterator[None]:
    """Set `env` in os.environ; restore the previous values on error (or always when
    keep=False). Kept on success by default: the engine started later from this config
    (workers, torch_sendnn) reads the same variables."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: str(v) for k, v in env.items()})
    ok = False
    try:
        yield
        ok = True
    finally:
        if not (ok and keep):
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _warn_if_late(env: Mapping[str, str]) -> None:
    # vLLM resolves its platform (and loads plugins) once per process; VLLM_PLUGINS or
    # the sendnn backend changed after `import vllm` silently has no effect.
    if "vllm" in sys.modules and any(k.startswith(("VLLM_PLUGINS", "SENDNN_")) for k in env):
        from vllm.platforms import current_platform  # noqa: F401  (already resolved)

        print(
            "spyre_hydra: warning: vllm was imported before the backend env was applied; "
            "platform selection may not reflect it (run the engine in a fresh process)",
            file=sys.stderr,
        )


def build_vllm_config(engine_args: Mapping[str, Any], env: Mapping[str, str] | None = None):
    """Validate `engine_args` against EngineArgs, apply `env`, return a VllmConfig.

    On any failure the environment is restored and the error propagates (unknown keys
    raise EngineArgsError; vLLM's own validation raises its own errors, wrapped in
    EngineArgsError when they are argument errors).
    """
    env = dict(env or {})
    _warn_if_late(env)
    with applied_env(env):
        validate_engine_args(engine_args)
        from vllm.engine.arg_utils import EngineArgs

        try:
            args = EngineArgs(**dict(engine_args))
        except TypeError as e:  # bad value types surface here
            raise EngineArgsError(f"invalid engine_args: {e}") from e
        return args.create_engine_config()


def _platform_name() -> str:
    from vllm.platforms import current_platform

    return type(current_platform).__name__


def summarize_vllm_config(vc) -> dict[str, Any]:
    """The handful of resolved values worth printing for `mode=config`."""
    mc, pc, sc, cc = vc.model_config, vc.parallel_config, vc.scheduler_config, vc.cache_config
    worker = pc.worker_cls
    return {
        "model": mc.model,
        "served_model_name": mc.served_model_name,
        "tensor_parallel_size": pc.tensor_parallel_size,
        "world_size": pc.world_size,
        "distributed_executor_backend": (
            getattr(pc.distributed_executor_backend, "__name__", pc.distributed_executor_backend)
        ),
        "max_model_len": mc.max_model_len,
        "max_num_seqs": sc.max_num_seqs,
        "max_num_batched_tokens": sc.max_num_batched_tokens,
        "num_gpu_blocks_override": cc.num_gpu_blocks_override,
        "block_size": cc.block_size,
        "worker_cls": worker if isinstance(worker, str) else getattr(worker, "__name__", str(worker)),
        "scheduler_cls": str(sc.scheduler_cls) if getattr(sc, "scheduler_cls", None) else None,
        "platform": _platform_name(),
        "dtype": str(mc.dtype).removeprefix("torch."),
        # What the Spyre hook exported for torch_sendnn (absent on plain CPU vLLM).
        "spyre_env": {
            k: os.environ[k]
            for k in (
                "VLLM_DT_MAX_CONTEXT_LEN",
                "VLLM_DT_MAX_BATCH_SIZE",
                "VLLM_DT_MAX_BATCH_TKV_LIMIT",
                "VLLM_DT_CHUNK_LEN",
                "FLEX_HDMA_P2PSIZE",
                "FLEX_HDMA_COLLSIZE",
            )
            if k in os.environ
        },
    }

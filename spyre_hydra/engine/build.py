"""Turn a composed `engine_args` dict + backend env into vLLM's real VllmConfig.

The VllmConfig is built the way `vllm serve` builds it (its parser's defaults, then
EngineArgs(...).create_engine_config()), so platform hooks -- in particular the Spyre
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
        f"engine_args: unknown vLLM engine argument(s): {'; '.join(parts)}. "
        "Valid names are the fields of vllm.engine.arg_utils.EngineArgs (vllm serve's options "
        "with '_' for '-'). Fix: engine_args.<valid name>=<value>, e.g. "
        f"engine_args.{difflib.get_close_matches(unknown[0], valid, n=1, cutoff=0)[0]}=...")


@contextlib.contextmanager
def applied_env(env: Mapping[str, str], *, keep: bool = True) -> Iterator[None]:
    """Set `env` in os.environ. On error (or always when keep=False) restore the *whole*
    environment as it was: the Spyre config hook writes VLLM_DT_*, FLEX_*, OMP_NUM_THREADS
    etc. straight into os.environ, even when it then rejects the config. Kept on success
    by default: the engine started later from this config reads the same variables."""
    saved = dict(os.environ)
    os.environ.update({k: str(v) for k, v in env.items()})
    ok = False
    try:
        yield
        ok = True
    finally:
        if not (ok and keep):
            os.environ.clear()
            os.environ.update(saved)


def _warn_if_late(env: Mapping[str, str]) -> None:
    # vLLM resolves its platform (and loads plugins) once per process; VLLM_PLUGINS or
    # the sendnn backend changed after `import vllm` silently has no effect.
    changed = [
        k for k, v in env.items()
        if k.startswith(("VLLM_PLUGINS", "SENDNN_")) and os.environ.get(k) != str(v)
    ]
    if "vllm" in sys.modules and changed:
        print(
            f"spyre_hydra: warning: vllm was imported before {', '.join(changed)} changed; "
            "platform selection may not reflect it (run the engine in a fresh process)",
            file=sys.stderr,
        )


def serve_defaults(model: str) -> dict[str, Any]:
    """The EngineArgs defaults a platform gives `vllm serve`'s parser (the Spyre plugin sets
    max_num_batched_tokens=512, chunked prefill and prefix caching, and computes
    config_format / tokenizer_mode from the checkpoint) -- what a bare EngineArgs(...),
    vLLM's offline LLM path, would miss. `vllm serve --config <export-serve yaml>` ends with
    the same values. The platform hook only sees a small parser: vLLM's full one takes
    ~0.2 s to build and adds nothing here (its other defaults are EngineArgs' own)."""
    from vllm.engine.arg_utils import EngineArgs
    from vllm.platforms import current_platform
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    fields = {f.name for f in dataclasses.fields(EngineArgs)}
    parser = FlexibleArgumentParser(add_help=False)
    for name in ("model", "config_format", "tokenizer_mode"):  # the hook's conditional ones
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None)
    current_platform.pre_register_and_update(parser)
    namespace = parser.parse_args(["--model", model] if model else [])
    return {k: v for k, v in vars(namespace).items()
            if k in fields and k != "model" and v is not None}


def _own_errors() -> tuple[type, ...]:
    try:
        from spyre_hydra.errors import SpyreHydraError
    except ImportError:  # pragma: no cover - see EngineArgsError above
        return ()
    return (SpyreHydraError,)


def build_vllm_config(engine_args: Mapping[str, Any], env: Mapping[str, str] | None = None):
    """Validate `engine_args` against EngineArgs, apply `env`, return a VllmConfig.

    On any failure os.environ is restored. Unknown keys, bad value types and values
    vLLM or the platform hook reject (pydantic ValidationError -- a ValueError -- or the
    hook's AssertionError, e.g. max_num_batched_tokens not a multiple of 64) all raise
    EngineArgsError chained to vLLM's original exception.

    Not idempotent within one process: the Spyre hook only sets VLLM_DT_MAX_BATCH_TKV_LIMIT
    when it is unset, so a second build in the same process inherits the first's value.
    Build each config in a fresh process when comparing configs.
    """
    env = dict(env or {})
    _warn_if_late(env)
    with applied_env(env):
        validate_engine_args(engine_args)
        from vllm.engine.arg_utils import EngineArgs

        try:
            args = EngineArgs(**{**serve_defaults(str(engine_args.get("model", ""))),
                                 **dict(engine_args)})
        except TypeError as e:  # bad value types surface here
            raise EngineArgsError(f"invalid engine_args: {e}") from e
        try:
            return args.create_engine_config()
        except _own_errors():  # ours (a ValueError/RuntimeError too) says it better already
            raise
        except (ValueError, TypeError, AssertionError) as e:
            raise EngineArgsError(f"vLLM rejected engine_args: {e}") from e


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
        "enable_chunked_prefill": sc.enable_chunked_prefill,
        "enable_prefix_caching": cc.enable_prefix_caching,
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

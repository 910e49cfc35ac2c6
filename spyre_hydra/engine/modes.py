"""mode=config|generate|serve: from a launch plan to vLLM's VllmConfig, checked, then run.

The LaunchPlan (spyre_hydra.compose) is a promise about the engine; run_mode builds the
real VllmConfig from it with vLLM's own EngineArgs, runs the catalog's configurator on that
object exactly as the plan did, and refuses to start when any promised value differs.
Env vars are applied before vllm is imported, because vLLM resolves its platform (and the
Spyre plugin reads its env) at import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any, Mapping

from spyre_hydra.engine.backend import detect_backend, hydra_conf_dir
from spyre_hydra.engine.gcpolicy import collector_paused
from spyre_hydra.engine.launchenv import (  # noqa: F401 - API
    MODEL_CONFIG_ENV,
    backend_name,
    launch_env,
    resolve_engine_args,
)
from spyre_hydra.errors import PlanMismatchError, PlatformError, SpyreHydraError
from spyre_hydra.plan.engine_checks import engine_error
from spyre_hydra.plan.inputs import read_prompts
from spyre_hydra.plan.launchplan import LaunchPlan
from spyre_hydra.plan.pipeline import check_engine


def as_plan(plan: LaunchPlan | Mapping) -> LaunchPlan:
    """A LaunchPlan, also from its JSON form (a sweep's fresh-process worker passes that)."""
    return plan if isinstance(plan, LaunchPlan) else LaunchPlan.from_dict(plan)


def promised_env(plan: LaunchPlan | Mapping) -> dict:
    """The backend's static env overlaid with the model's device env: what the plan promises."""
    return as_plan(plan).promised_env()


def check_registry(plan: LaunchPlan, vc, strict: bool, conf_dir=None):
    """Run the catalog's configurator on the real VllmConfig, as the plan did; returns its
    summary (None when the runtime is unsupported and strict is off, as in the plan)."""
    from spyre_hydra.catalog.registry import get_model_registry

    registry = get_model_registry(conf_dir)
    hf = vc.model_config.hf_config
    matches = [e.name for e in registry.match_hf_config(hf)]
    if plan.model not in matches:
        raise PlanMismatchError(
            "model", plan.model, matches[0] if matches else None,
            f"the checkpoint's config.json (model_type={getattr(hf, 'model_type', None)!r}) "
            f"{'matches ' + matches[0] if matches else 'matches no catalog entry'}; point "
            f"model.path at a checkpoint of {plan.option}, or use model=auto model_path=DIR "
            "to pick the entry from the checkpoint.")
    configurator = registry.get_configurator_for_runtime(
        vc, [list(s) for s in plan.warmup_shapes] or None,
        sendnn_version=plan.sendnn_version, strict=strict)
    if configurator is None:
        return None
    if configurator.model_name != plan.model:  # a tie the catalog breaks the other way
        raise PlanMismatchError("model", plan.model, configurator.model_name,
                                "give the intended entry a higher priority (spyre-hydra check).")
    return configurator.configure(vc)


def check_env(plan: LaunchPlan, environ=None) -> None:
    """Raise PlanMismatchError when a variable the plan promised has another value (a user
    export of a backend variable, say): checked before vllm is imported."""
    environ = os.environ if environ is None else environ
    for key, promised in promised_env(plan).items():
        if environ.get(key) != str(promised):
            raise PlanMismatchError(f"env.{key}", str(promised), environ.get(key),
                                    f"unset {key} (or export {key}={promised}) and rerun.")


def check_promises(plan: LaunchPlan, vc, environ=None) -> None:
    """Raise PlanMismatchError on the first value the VllmConfig or env does not keep."""
    ea = plan.args
    found = [("tensor_parallel_size", plan.tp_size, vc.parallel_config.tensor_parallel_size),
             ("world_size", plan.tp_size, vc.parallel_config.world_size),
             ("max_model_len", ea["max_model_len"], vc.model_config.max_model_len),
             ("max_num_seqs", ea["max_num_seqs"], vc.scheduler_config.max_num_seqs)]
    if ea.get("num_gpu_blocks_override") is not None:
        found.append(("num_gpu_blocks_override", ea["num_gpu_blocks_override"],
                      vc.cache_config.num_gpu_blocks_override))
    if ea.get("max_num_batched_tokens") is not None:
        found.append(("max_num_batched_tokens", ea["max_num_batched_tokens"],
                      vc.scheduler_config.max_num_batched_tokens))
    for key, promised, actual in found:
        if promised != actual:
            raise PlanMismatchError(f"engine_args.{key}", promised, actual,
                                    "the platform changed it; pick a supported layout "
                                    "(spyre-hydra list) or set the value it needs.")
    check_env(plan, environ)  # again: the platform hook writes os.environ too


def _prompts(cfg) -> list[str]:
    """cfg.prompts_file (one prompt per line) or else cfg.prompts; never empty."""
    return read_prompts(cfg.get("prompts_file"), cfg.get("prompts"))


def run_mode(plan: LaunchPlan | Mapping, cfg) -> dict[str, Any]:
    """Build, check and run the plan's VllmConfig for mode config, generate or serve; any
    failure ends as a SpyreHydraError (EngineError for vLLM's own exceptions)."""
    from spyre_hydra.engine.build import applied_env

    plan = as_plan(plan)
    mode, conf_dir, timings, out = plan.mode, hydra_conf_dir(), {}, sys.stdout
    if mode != "config" and backend_name(plan) == "sendnn" and detect_backend() != "sendnn":
        raise PlatformError(f"backend=sendnn with mode={mode} needs a Spyre card and "
                            "torch_sendnn, which is not installed here. Fix: backend=eager "
                            "(the Spyre plugin on CPU), or mode=config to build the config only.")
    t0 = time.perf_counter()
    env = launch_env(plan, mode, conf_dir)
    if MODEL_CONFIG_ENV in env:  # the plugin will read only the composed catalog
        from spyre_hydra.legacy.drift import missing_warning

        warning = missing_warning(env[MODEL_CONFIG_ENV])
        if warning:
            print(f"spyre-launch: warning: {warning}", file=sys.stderr)
    # The plugin and FMS print banners with print(); stdout is kept for the result (JSON
    # for mode=config) by sending everything else to stderr.
    with contextlib.redirect_stdout(sys.stderr), applied_env(env, keep=False):
        from spyre_hydra.catalog.configurator import strict_from_env

        check_env(plan)
        prompts = _prompts(cfg) if mode == "generate" else []
        engine_args = resolve_engine_args(plan, conf_dir)
        # The pipeline's last stage: seconds before vLLM would say it.
        check_engine(engine_args, mode, cfg.serve if mode == "serve" else None)
        stage = "importing vLLM"
        try:
            t1 = time.perf_counter()
            with collector_paused():  # no GC rescans of vLLM's imports (see gcpolicy)
                import vllm  # noqa: F401  (after the env: platform plugins load at import)

                timings["import_vllm_s"] = round(time.perf_counter() - t1, 3)
                from spyre_hydra.engine.build import (
                    build_vllm_config,
                    engine_arg_names,
                    summarize_vllm_config,
                )

                if mode == "serve":  # vLLM's own serve parser: frontend options pass too
                    from spyre_hydra.engine.run import serve_args

                    stage = "parsing the serve options"
                    server = serve_args(engine_args, str(cfg.serve.host), int(cfg.serve.port))
                    names = set(engine_arg_names())
                    engine_args = {k: v for k, v in engine_args.items() if k in names}
                stage = "building the vLLM config"
                vc = build_vllm_config(engine_args)
            summary = check_registry(plan, vc, bool(cfg.get("strict")) or strict_from_env(),
                                     conf_dir)
            check_promises(plan, vc)
            timings["config_s"] = round(time.perf_counter() - t0, 3)
            result: dict[str, Any] = {
                "mode": mode, "backend": backend_name(plan), "timings": timings,
                "summary": summarize_vllm_config(vc),
                "registry": summary.format_log_message() if summary else None}
            if mode == "config":
                print(json.dumps(result["summary"], indent=2), file=out, flush=True)
            elif mode == "generate":
                stage = "running the engine"
                result["completions"] = _generate(vc, prompts, cfg, timings, out)
            elif mode == "serve":
                from spyre_hydra.engine.run import serve

                stage = "serving"
                # the server builds its own VllmConfig from the same args: held to the plan
                serve(*server, check=lambda config: check_promises(plan, config))
                result["stopped"] = True
        except SpyreHydraError:
            raise
        except Exception as exc:  # vLLM's own failure: one paragraph, original chained
            raise engine_error(mode, stage, exc) from exc
    timings["total_s"] = round(time.perf_counter() - t0, 3)
    return result


def _generate(vc, prompts: list[str], cfg, timings: dict, out) -> list[dict]:
    from spyre_hydra.engine.run import generate

    rows = generate(vc, prompts, int(cfg.get("max_tokens") or 16))
    for key in ("engine_start_s", "generate_s", "tokens_per_s"):
        timings[key] = rows[0][key] if rows else None
    if str(cfg.model.get("path") or "").startswith("builtin:"):
        # Say so, or a first-time user reads the noise as a broken install.
        print("(tiny random-weight model: the completions are noise; the path and timings are "
              "what counts)", file=out, flush=True)
    for row in rows:
        print(f"Prompt: {row['prompt']!r}\nOutput: {row['text']!r}", file=out, flush=True)
    print(" ".join(f"{k}={v}" for k, v in timings.items()), file=out, flush=True)
    return [{k: r[k] for k in ("prompt", "text", "token_ids", "finish_reason")} for r in rows]

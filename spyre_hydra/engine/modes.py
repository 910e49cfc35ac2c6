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
import sys
import time
from typing import Any, Mapping

from spyre_hydra.conftree.backends import MODEL_CONFIG_ENV, detect_backend
from spyre_hydra.engine.gcpolicy import collector_paused
from spyre_hydra.engine.launchenv import (  # noqa: F401 - API
    backend_name,
    launch_env,
    resolve_engine_args,
)
from spyre_hydra.engine.promises import (  # noqa: F401 - API
    check_env,
    check_promises,
    check_registry,
)
from spyre_hydra.errors import PlatformError, SpyreHydraError
from spyre_hydra.plan.engine_checks import engine_error
from spyre_hydra.plan.launchplan import LaunchPlan
from spyre_hydra.plan.pipeline import check_engine


def as_plan(plan: LaunchPlan | Mapping) -> LaunchPlan:
    """A LaunchPlan, also from its JSON form (the JSON edge: a sweep's worker, result.json)."""
    return plan if isinstance(plan, LaunchPlan) else LaunchPlan.from_dict(plan)


def promised_env(plan: LaunchPlan | Mapping) -> dict:
    """The backend's static env overlaid with the model's device env: what the plan promises."""
    return as_plan(plan).promised_env()


def run_mode(plan: LaunchPlan, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build, check and run the plan's VllmConfig for an engine mode (config, generate,
    serve); any failure ends as a SpyreHydraError (EngineError for vLLM's own exceptions).
    The launch env is applied to os.environ (vLLM reads it there) and taken out afterwards;
    `environ` (default os.environ) is what the user already set."""
    from spyre_hydra.engine.build import applied_env

    plan = as_plan(plan)
    mode, timings, out = plan.mode, {}, sys.stdout
    if mode != "config" and backend_name(plan) == "sendnn" and \
            detect_backend(plan.conf_tree) != "sendnn":
        raise PlatformError(f"backend=sendnn with mode={mode} needs a Spyre card and "
                            "torch_sendnn, which is not installed here. Fix: backend=eager "
                            "(the Spyre plugin on CPU), or mode=config to build the config only.")
    t0 = time.perf_counter()
    env = launch_env(plan, mode, environ)
    if MODEL_CONFIG_ENV in env:  # the plugin will read only the composed catalog
        from spyre_hydra.legacy.drift import missing_warning

        warning = missing_warning(env[MODEL_CONFIG_ENV])
        if warning:
            print(f"spyre-launch: warning: {warning}", file=sys.stderr)
    # The plugin and FMS print banners with print(); stdout is kept for the result (JSON
    # for mode=config) by sending everything else to stderr.
    with contextlib.redirect_stdout(sys.stderr), applied_env(env, keep=False):
        check_env(plan)
        engine_args = resolve_engine_args(plan)
        # The pipeline's last stage: seconds before vLLM would say it.
        check_engine(engine_args, mode, {"host": plan.inputs.serve_host,
                                         "port": plan.inputs.serve_port})
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
                    server = serve_args(engine_args, plan.inputs.serve_host,
                                        plan.inputs.serve_port)
                    names = set(engine_arg_names())
                    engine_args = {k: v for k, v in engine_args.items() if k in names}
                stage = "building the vLLM config"
                vc = build_vllm_config(engine_args)
            summary = check_registry(plan, vc)
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
                result["completions"] = _generate(vc, plan, timings, out)
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


def _generate(vc, plan: LaunchPlan, timings: dict, out) -> list[dict]:
    from spyre_hydra.engine.run import generate

    rows = generate(vc, list(plan.inputs.prompts), plan.inputs.max_tokens)
    for key in ("engine_start_s", "generate_s", "tokens_per_s"):
        timings[key] = rows[0][key] if rows else None
    if plan.builtin_model:
        # Say so, or a first-time user reads the noise as a broken install.
        print("(tiny random-weight model: the completions are noise; the path and timings are "
              "what counts)", file=out, flush=True)
    for row in rows:
        print(f"Prompt: {row['prompt']!r}\nOutput: {row['text']!r}", file=out, flush=True)
    print(" ".join(f"{k}={v}" for k, v in timings.items()), file=out, flush=True)
    return [{k: r[k] for k in ("prompt", "text", "token_ids", "finish_reason")} for r in rows]

"""From a composed tree to a launch plan: validated, checked against the catalog, no torch.

The plan is what `mode=plan` prints and what the engine side turns into vLLM's EngineArgs:
    {model, option, tp_size, sendnn_version, runtime, engine_args, env, warmup_shapes,
     supported, summary, warnings}
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from omegaconf import DictConfig

from .configurator import DefaultConfigurator, DeviceSettings, strict_from_env
from .entry import ModelEntry
from .inputs import check_inputs
from .errors import (ConfigValidationError, PlatformError, Problem, UnsupportedRuntimeError,
                     VersionError)
from .schema import MODES, RUNTIMES
from .validate import check_shapes, to_plain, validate_tree
from .versions import parse_version

#: Plan keys that map straight onto vLLM EngineArgs fields.
ENGINE_KEYS = ("model", "tensor_parallel_size", "max_model_len", "max_num_seqs",
               "num_gpu_blocks_override", "max_num_batched_tokens")


def make_sources(option_files: Mapping[str, str], overrides: list[str]):
    """key -> where its value came from: a command-line override, else its group's file."""
    from .paths import GROUPS

    # Choosing an option (model=granite_8b) is not where its values come from: its file is.
    parsed = [(o.split("=", 1)[0].lstrip("+~"), o) for o in overrides if "=" in o]
    parsed = [(name, o) for name, o in parsed if name not in GROUPS]
    parsed.sort(key=lambda item: -len(item[0]))  # runtime.warmup_shapes=... before runtime=...

    def source(key: str) -> str:
        for name, text in parsed:
            if key == name or key.startswith(name + ".") or key.startswith(name + "["):
                return f"command line {text!r}"
        return option_files.get(key.split(".")[0].split("[")[0], "conf/config.yaml")
    return source


def _runtime_problems(tree: Mapping, source) -> list[Problem]:
    problems = []
    if tree["mode"] not in MODES:
        problems.append(Problem("mode", f"{tree['mode']!r} is not a mode. Valid: "
                                f"{', '.join(MODES)}.", source("mode"), "mode=plan"))
    rt = tree["runtime"]
    if rt["name"] not in RUNTIMES:
        problems.append(Problem("runtime.name", f"{rt['name']!r} is not a runtime. Valid: "
                                f"{', '.join(RUNTIMES)}.", source("runtime"), "runtime=cb"))
    elif rt["name"] == "cb":
        for key in ("max_model_len", "max_num_seqs"):
            val = rt.get(key)
            if val is None:
                static_only = not tree["model"].get("continuous_batching_configs")
                problems.append(Problem(f"runtime.{key}", f"has no default: {tree['model']['hf_id']}"
                                        f" has no continuous-batching entry at tp"
                                        f"{tree['device']['tp_size']}.", source(f"runtime.{key}"),
                                        "runtime=static (this model is static-batching only)"
                                        if static_only else
                                        f"pick another device, or set runtime.{key}=<int>"))
            elif val <= 0:
                problems.append(Problem(f"runtime.{key}", f"{val} must be a positive integer.",
                                        source(f"runtime.{key}"), f"drop the override to take "
                                        f"the model's default, or set runtime.{key}=<int > 0>"))
    else:
        if rt.get("warmup_shapes") is None:
            problems.append(Problem("runtime.warmup_shapes", f"has no default: "
                                    f"{tree['model']['hf_id']} has no static entry at tp"
                                    f"{tree['device']['tp_size']}.", source("runtime"),
                                    "runtime.warmup_shapes=[[prompt_len,new_tokens,batch]]"))
        else:
            problems += check_shapes(rt["warmup_shapes"], "runtime.warmup_shapes",
                                     source)
    if tree["device"]["tp_size"] <= 0:
        problems.append(Problem("device.tp_size", f"{tree['device']['tp_size']} must be "
                                "positive.", source("device.tp_size"),
                                "pick a device option (device=tp1, tp2 or tp4)"))
    if tree["max_tokens"] <= 0:
        problems.append(Problem("max_tokens", f"{tree['max_tokens']} must be a positive integer.",
                                source("max_tokens"), "max_tokens=16"))
    try:  # checked even when no version-dependent value reads it, so a typo never waits
        parse_version(tree["sendnn_version"]["version"])
    except VersionError as exc:
        problems.append(Problem("sendnn_version.version", str(exc), source("sendnn_version")))
    if not 0 < tree["serve"]["port"] < 65536:
        problems.append(Problem("serve.port", f"{tree['serve']['port']} is not a TCP port "
                                "(1-65535).", source("serve.port"), "serve.port=8000"))
    return problems


#: engine_args keys the composed tree owns: setting them there would bypass the catalog
#: check (the plan would call a layout supported that the engine then runs differently).
RESERVED = {"model": "model.path=/path/to/checkpoint",
            "tensor_parallel_size": "device=tp4",
            "max_model_len": "runtime.max_model_len=<int>",
            "max_num_seqs": "runtime.max_num_seqs=<int>"}


def _check_reserved(engine_args: Mapping, source) -> None:
    problems = [Problem(f"engine_args.{k}", f"{engine_args[k]!r}: {k} comes from the composed "
                        "tree, where the catalog checks it, not from engine_args.",
                        source(f"engine_args.{k}"), f"drop it and use {fix}")
                for k, fix in RESERVED.items() if k in engine_args]
    if problems:
        raise ConfigValidationError(problems)


def _with_supported(problem: Problem, tree: Mapping) -> Problem:
    """Runtime problems also list what the model supports, so the fix is one copy away."""
    if not problem.key.startswith("runtime") and problem.key != "device.tp_size":
        return problem
    try:
        m = tree["model"]
        supported = ModelEntry.from_tree(m).describe_runtimes()
    except (KeyError, TypeError):  # the model itself is broken: its problems say so
        return problem
    return Problem(problem.key, f"{problem.message} {m['hf_id']} supports: {supported}.",
                   problem.source, problem.fix)


def check_platform(tree: Mapping, machine: str | None = None) -> str | None:
    """Refuse a model whose `platforms` exclude this machine, unless explicitly allowed."""
    machine = machine or platform.machine()
    allowed = tree["model"].get("platforms") or []
    if not allowed or machine in allowed:
        return None
    text = (f"model {tree['model']['hf_id']!r} is validated on {', '.join(allowed)}, not on "
            f"this machine's {machine!r} (model.platforms).")
    if not tree.get("allow_unsupported_platform"):
        raise PlatformError(text + " Fix: allow_unsupported_platform=true to run it anyway.")
    return text + " Running anyway (allow_unsupported_platform=true)."


def build_plan(cfg: DictConfig | Mapping, option: str | None = None, overrides=(),
               option_files: Mapping[str, str] | None = None,
               environ: Mapping[str, str] | None = None, devices=()) -> dict[str, Any]:
    """Validate a composed tree and derive the launch plan (raises SpyreHydraError)."""
    environ = os.environ if environ is None else environ
    source = make_sources(option_files or {}, list(overrides))
    problems: list[Problem] = []
    if isinstance(cfg, DictConfig):  # resolve key by key, skipping Hydra's own node
        tree = {k: to_plain(cfg._get_node(k) if isinstance(cfg._get_node(k), DictConfig)
                            else cfg[k], k, problems, source) for k in cfg if k != "hydra"}
    else:
        tree = {k: v for k, v in cfg.items() if k != "hydra"}
    unresolved = problems
    try:
        validate_tree(tree, source, devices)
        problems = [] if unresolved else _runtime_problems(tree, source)
    except ConfigValidationError as error:
        problems = error.problems
    if unresolved:
        # A `selected.*` value fails to resolve because of a bad model entry: the entry's
        # own problem (naming its file) says it better than the interpolation does.
        model_broken = any(p.key.startswith("model") for p in problems)
        problems += [p for p in unresolved
                     if not (model_broken and p.key.startswith("selected."))]
    if problems:
        raise ConfigValidationError([_with_supported(p, tree) for p in problems])
    strict = bool(tree["strict"]) or strict_from_env(environ)
    warnings = [w for w in [check_platform(tree)] if w]
    warnings += check_inputs(tree, strict)  # model.path and prompts: files this launch reads
    model, rt, tp = tree["model"], tree["runtime"], tree["device"]["tp_size"]
    entry = ModelEntry.from_tree(model, option)
    _check_reserved(tree["engine_args"], source)
    # The backend's engine args (cpu: enforce_eager) first, so the user's engine_args win.
    user = {**(tree["backend"].get("engine_args") or {}), **tree["engine_args"]}
    if rt["name"] == "cb":
        shapes: list = []
        mml, mns = rt["max_model_len"], rt["max_num_seqs"]
        supported = entry.cb_entry(tp, mml, mns) is not None
        asked = f"max_model_len={mml} max_num_seqs={mns}"
    else:
        shapes = [list(s) for s in rt["warmup_shapes"]]
        # sendnn-inference 2.6.3 runs every decoder with continuous batching, so shapes
        # become the CB layout covering them, with max_model_len rounded up to the plugin's
        # 64-token KV block: it sizes the cache in whole blocks (max_model_len // 64 per
        # sequence), and vLLM's default max_num_batched_tokens (max_model_len x
        # max_num_seqs here) must be a multiple of 64 or the plugin refuses the config.
        mml = -(-max(p + n for p, n, _ in shapes) // 64) * 64
        mns = max(b for _, _, b in shapes)
        supported = entry.static_entry(tp, shapes) is not None
        asked = f"warmup_shapes={shapes}"
    if not supported:
        error = UnsupportedRuntimeError(
            f"{entry.option} ({entry.name}) does not support tp{tp} with {asked}. Supported at "
            f"tp{tp}: {entry.describe_runtimes(tp)}. All: {entry.describe_runtimes()}. Fix: "
            "choose one of those (runtime.max_model_len=... runtime.max_num_seqs=... / "
            "runtime.warmup_shapes=... / device=...).")
        if strict:
            raise error
        warnings.append(f"{error} Running without the model's device settings.")
    sel = tree["selected"] if supported and rt["name"] == "cb" else {}
    settings = DeviceSettings(dict(sel.get("env") or {}), sel.get("num_gpu_blocks_override"),
                              sel.get("max_num_batched_tokens"))
    engine_args = {"model": model.get("path") or model["hf_id"], "tensor_parallel_size": tp,
                   "max_model_len": mml, "max_num_seqs": mns,
                   "num_gpu_blocks_override": user.get("num_gpu_blocks_override",
                                                       settings.num_gpu_blocks_override),
                   "max_num_batched_tokens": user.get("max_num_batched_tokens",
                                                      settings.max_num_batched_tokens)}
    engine_args.update({k: v for k, v in user.items() if k not in engine_args})
    fake = SimpleNamespace(  # what the VllmConfig will hold, for the configurator's preview
        parallel_config=SimpleNamespace(world_size=tp),
        cache_config=SimpleNamespace(num_gpu_blocks_override=user.get("num_gpu_blocks_override")),
        scheduler_config=SimpleNamespace(max_num_batched_tokens=user.get("max_num_batched_tokens")))
    configurator = DefaultConfigurator(entry.name, {tp: settings}, strict)
    summary = configurator.preview(fake, environ)
    configurator.check(summary)
    backend_env = {k: str(v) for k, v in (tree["backend"].get("env") or {}).items()}
    env = {k: str(v.applied) for k, v in summary.env_vars.items()}
    if shapes and all(n == 0 for _, n, _ in shapes):  # no new tokens: a pooling model,
        # which the plugin compiles for these shapes (it ignores them for decoders).
        for key, col in (("PROMPT_LENS", 0), ("BATCH_SIZES", 2)):
            name = f"SENDNN_INFERENCE_WARMUP_{key}"
            env[name] = environ.get(name, ",".join(str(s[col]) for s in shapes))
    return {
        "model": entry.name, "option": entry.option, "tp_size": tp,
        "sendnn_version": str(tree["sendnn_version"]["version"]),
        "runtime": rt["name"], "mode": tree["mode"], "backend": tree["backend"]["name"],
        "engine_args": engine_args, "env": env, "backend_env": backend_env,
        "warmup_shapes": shapes,
        "supported": supported, "summary": summary.format_log_message(),
        "conflicts": summary.conflicts(), "warnings": warnings,
    }


def compose_launch(overrides=(), conf_dir=None):
    """Compose the launch tree with Hydra's compose API (tests, tools, sweeps' pre-flight)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from .paths import shipped_conf_dir
    from .resolvers import register_resolvers
    from .searchpath import use_conf_dir

    register_resolvers()
    use_conf_dir(conf_dir)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(shipped_conf_dir()), version_base=None):
        return compose("config", overrides=list(overrides), return_hydra_config=True)

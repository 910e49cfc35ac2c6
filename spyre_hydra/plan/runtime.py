"""Checks of a composed tree beyond its types: mode, runtime, sizes, versions, ports,
engine_args the tree owns, and the machine's platform. Each returns or raises problems with
the key, where the value came from, and the fix."""

from __future__ import annotations

import platform
from collections.abc import Mapping

from spyre_hydra.catalog.model_entry import ModelEntry
from spyre_hydra.catalog.names import host_problem
from spyre_hydra.catalog.rules import check_shapes
from spyre_hydra.conftree.modes import mode_names
from spyre_hydra.conftree.schema import RUNTIMES
from spyre_hydra.conftree.versions import parse_version
from spyre_hydra.errors import ConfigValidationError, PlatformError, Problem, VersionError


def runtime_problems(tree: Mapping, source) -> list[Problem]:
    problems = []
    if tree["mode"] not in mode_names():  # the mode table: registered modes too
        problems.append(Problem("mode", f"{tree['mode']!r} is not a mode. Valid: "
                                f"{', '.join(mode_names())}.", source("mode"), "mode=plan"))
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
    if host_problem(tree["serve"]["host"]):  # refused now, not when the server binds
        problems.append(Problem("serve.host", host_problem(tree["serve"]["host"]),
                                source("serve.host"), "serve.host=127.0.0.1 (this host only) "
                                "or serve.host=0.0.0.0 (every interface)"))
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


def check_reserved(engine_args: Mapping, source) -> None:
    problems = [Problem(f"engine_args.{k}", f"{engine_args[k]!r}: {k} comes from the composed "
                        "tree, where the catalog checks it, not from engine_args.",
                        source(f"engine_args.{k}"), f"drop it and use {fix}")
                for k, fix in RESERVED.items() if k in engine_args]
    if problems:
        raise ConfigValidationError(problems)


def with_supported(problem: Problem, tree: Mapping) -> Problem:
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

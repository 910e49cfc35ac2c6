"""`spyre-hydra explain`: every value of the launch plan with where it came from.

    spyre-hydra explain model=granite_8b device=tp4 sendnn_version=1.0.2

Each row names its origin (see provenance.py): a command-line override, the model file or
the family base that sets it, the `spyre.*` resolver with its input (the torch_sendnn
version and the specifier that matched), or the pre-existing env var / engine_args value
that won over the model default. No torch or vllm import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from spyre_hydra.cli.provenance import Origins, blocks_origin
from spyre_hydra.conftree.resolvers import entry_settings
from spyre_hydra.errors import SpyreHydraError, UnknownOptionError


def add_arguments(parser) -> None:
    parser.add_argument("overrides", nargs="*", help="overrides as given to spyre-launch")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--config-dir", help="conf tree to compose (default: the shipped one)")


def _user_or(o: Origins, user: Mapping, name: str, value: Any, default: Any, origin: str) -> str:
    if name not in user:
        return origin
    text = o.value(f"engine_args.{name}")
    if default is not None and str(default) != str(value):
        return f"{text}: kept your value {value} over the model default {default} ({origin})"
    return text


def _rows(plan, tree: dict, o: Origins, environ: Mapping[str, str]) -> list[dict]:
    """One row per plan value (a LaunchPlan) with its origin in the composed tree."""
    rows: list[dict] = []

    def add(key, value, origin):
        rows.append({"key": key, "value": value, "origin": origin})

    model, rt, dev = tree["model"], tree["runtime"], tree["device"]["name"]
    tp, user, ea = plan.tp_size, tree["engine_args"], plan.args
    version = plan.sendnn_version
    match = next((c for c in model.get("continuous_batching_configs") or []
                  if (c.get("tp_size"), c.get("max_model_len"), c.get("max_num_seqs")) ==
                  (tp, rt.get("max_model_len"), rt.get("max_num_seqs"))), None)
    # the entry's own device_config when it has one, else the device's block (as selected.*)
    settings = entry_settings(match, model.get("device_configs"), dev) or {}
    applies = plan.supported and rt["name"] == "cb"
    skipped = ("not set: " + ("the runtime is not a catalog entry" if not plan.supported else
                              "static batching") + ", so the model's device settings don't apply")
    add("option", plan.option, o.group("model"))
    add("model", plan.model, o.value("model.hf_id"))
    vsrc = o.value("sendnn_version.version")
    if o.choices.get("sendnn_version") == "auto" and not o.cli("sendnn_version.version"):
        vsrc = f"resolver ${{spyre.sendnn_version:}} (package metadata), {vsrc}"
    add("sendnn_version", version, vsrc)
    add("tp_size", tp, o.value("device.tp_size"))
    add("runtime", plan.runtime, o.value("runtime.name"))
    add("mode", plan.mode, o.value("mode"))
    add("backend", plan.backend, o.value("backend.name"))
    runs = "continuous_batching_configs" if rt["name"] == "cb" else "static_batching_configs"
    add("supported", plan.supported, f"tp{tp} {rt['name']} entry "
        + ("found in " if plan.supported else "not found in ") + str(o.value(f"model.{runs}")))
    add("engine_args.model", ea["model"], o.value("model.path" if model.get("path") else
                                                 "model.hf_id"))
    add("engine_args.tensor_parallel_size", ea["tensor_parallel_size"], o.value("device.tp_size"))
    shapes_src = o.cli("runtime.warmup_shapes") or (
        f"resolver ${{spyre.static_default}}: first static entry for tp{tp} in "
        f"{o.value('model.static_batching_configs')}")
    for name in ("max_model_len", "max_num_seqs"):
        if rt["name"] == "cb":
            origin = o.cli(f"runtime.{name}") or (
                f"resolver ${{spyre.cb_default}}: first continuous_batching_configs entry for "
                f"tp{tp} in {o.value('model.continuous_batching_configs')}")
            default = rt[name]
        else:
            what = "prompt_len+new_tokens" if name == "max_model_len" else "batch_size"
            origin, default = f"largest {what} of runtime.warmup_shapes ({shapes_src})", None
        add(f"engine_args.{name}", ea[name], _user_or(o, user, name, ea[name], default, origin))
    sel = tree["selected"]
    raw_blocks = settings.get("num_gpu_blocks_override")
    blocks = sel.get("num_gpu_blocks_override")
    tokens = sel.get("max_num_batched_tokens")
    if not applies:
        b_origin = t_origin = skipped
        blocks = tokens = None
    else:
        b_origin = (blocks_origin(o, raw_blocks, version, dev, blocks) if blocks is not None
                    else f"not set: model has no device_configs.{dev}.num_gpu_blocks_override "
                    "(vLLM decides)")
        t_origin = (o.value(f"model.device_configs.{dev}.chunked_prefill_config."
                            "max_num_batched_tokens") if tokens is not None else
                    f"not set: model has no device_configs.{dev}.chunked_prefill_config "
                    "(vLLM decides)")
    add("engine_args.num_gpu_blocks_override", ea["num_gpu_blocks_override"],
        _user_or(o, user, "num_gpu_blocks_override", ea["num_gpu_blocks_override"], blocks,
                 b_origin))
    add("engine_args.max_num_batched_tokens", ea["max_num_batched_tokens"],
        _user_or(o, user, "max_num_batched_tokens", ea["max_num_batched_tokens"], tokens,
                 t_origin))
    done = {r["key"] for r in rows}
    for name in ea:  # the other engine_args: the user's, else the backend's (cpu: enforce_eager)
        if f"engine_args.{name}" not in done:
            key = f"engine_args.{name}" if name in user else f"backend.engine_args.{name}"
            add(f"engine_args.{name}", ea[name], o.value(key))
    model_env = (settings.get("env_vars") or {}) if applies else {}
    for name, value in plan.env.items():
        if name in model_env:
            default = str(model_env[name])
            where = o.value(f"model.device_configs.{dev}.env_vars.{name}")
            if name in environ and environ[name] != default:
                origin = (f"kept your env value {environ[name]} over model default {default} "
                          f"(pre-existing environment; default from {where})")
            elif name in environ:
                origin = f"pre-existing environment, same as the model default from {where}"
            else:
                origin = where
        else:  # pooling warm-up shapes
            origin = "runtime.warmup_shapes of a pooling model (no new tokens)"
        add(f"env.{name}", value, origin)
    for name, value in plan.backend_env.items():
        add(f"backend_env.{name}", value, o.value(f"backend.env.{name}"))
    add("warmup_shapes", [list(s) for s in plan.warmup_shapes], shapes_src if rt["name"] == "static" else
        "continuous batching compiles no warmup shapes")
    return rows


def explain(overrides: list[str], conf_dir=None, environ: Mapping[str, str] | None = None):
    """{"plan", "rows": [{key, value, origin}], "warnings"} for a composition."""
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from spyre_hydra.catalog.registry import get_model_registry
    from spyre_hydra.conftree.compose import compose_launch
    from spyre_hydra.plan.front import front_door, plan_from_config
    from spyre_hydra.plan.pipeline import check_argv

    environ = os.environ if environ is None else environ
    conf_tree = front_door(conf_dir, "explain")
    typed = list(overrides)
    overrides = check_argv(typed, conf_tree)
    try:
        cfg = compose_launch(overrides, conf_tree)
    except (HydraException, OmegaConfBaseException) as exc:
        msg = " ".join(str(exc).split())
        raise UnknownOptionError(f"cannot compose {' '.join(overrides) or 'the defaults'}: {msg} "
                                 "Fix: correct the key, or prefix a new key with '+'; "
                                 "`spyre-hydra schema` lists the keys.") from None
    # as text: an override's ${...} is the user's value, not an interpolation to resolve
    choices = OmegaConf.to_container(cfg.hydra.runtime.choices, resolve=False)
    task = OmegaConf.to_container(cfg.hydra.overrides.task, resolve=False)
    plan = plan_from_config(cfg, cfg.hydra, environ, conf_tree)
    from spyre_hydra.plan.profile import apply_profile

    cfg, choices, _, _ = apply_profile(cfg, task, choices, {}, conf_tree)  # as the plan saw it
    tree = {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k])
            else cfg[k] for k in cfg if k != "hydra"}
    try:
        chain = get_model_registry(conf_tree).get_model_config(choices["model"]).files
    except SpyreHydraError:
        chain = []
    origins = Origins(task, choices, chain, conf_tree, [o for o in overrides if o not in typed])
    rows = _rows(plan, tree, origins, environ)
    data = plan.to_dict()
    return {"plan": data, "rows": with_profile(rows, data), "warnings": list(plan.warnings)}


#: Rows a profile sets, and the profile key that sets them.
_PROFILE_ROWS = {"tp_size": "device", "engine_args.tensor_parallel_size": "device",
                 "runtime": "runtime", "engine_args.max_model_len": "runtime",
                 "engine_args.max_num_seqs": "runtime", "warmup_shapes": "runtime"}


def profile_origin(profile: Mapping) -> str:
    """Where a profile is written and the tune that chose it."""
    ev = profile.get("evidence") or {}
    sweep = ev.get("sweep") or {}
    text = (f"{profile.get('file')} profiles.{profile['name']} ({profile['id']}; chosen by "
            f"spyre-hydra tune on {ev.get('date', '?')}: objective {ev.get('objective', '?')}, "
            f"SLO {ev.get('slo', '?')}, job {ev.get('job', '?')} of sweep {sweep.get('dir', '?')}"
            f" {sweep.get('fingerprint', '')})".replace(" )", ")"))
    if not profile.get("as_measured"):
        text += (" -- no longer as measured: the command line sets "
                 + ", ".join(profile.get("overridden") or []))
    return text


def with_profile(rows: list[dict], plan: Mapping) -> list[dict]:
    """The rows with profile=, layout, and the profile as origin of what it set."""
    profile = plan.get("profile")
    out = list(rows)
    if profile:
        mine = f"profile {profile['name']!r} ({profile['id']}) in {profile.get('file')}"
        given = profile.get("overridden") or []
        engine = set((profile.get("layout") or {}).get("engine_args") or {})
        for row in out:
            key = _PROFILE_ROWS.get(row["key"])
            if row["key"].startswith("engine_args.") and row["key"][12:] in engine:
                key = row["key"]
            if key and not any(g == key or g.startswith(key + ".") or key.startswith(g + ".")
                               for g in given):
                row["origin"] = mine
    at = next((i for i, r in enumerate(out) if r["key"] == "backend"), len(out)) + 1
    out.insert(at, {"key": "profile", "value": profile["name"] if profile else None,
                    "origin": profile_origin(profile) if profile else
                    "not set (profile=<name> runs a measured layout of the model)"})
    out.insert(at + 1, {"key": "layout", "value": plan.get("layout"),
                        "origin": "catalog entry" if plan.get("layout") == "catalog-verified"
                        else "profile run as measured" if plan.get("layout") == "tune-measured"
                        else "neither a catalog entry nor a profile run as measured"})
    return out


def format_text(result: dict) -> str:
    """`key = value  <- origin`, aligned, then the plan's warnings."""
    cells = [(r["key"], json.dumps(r["value"], ensure_ascii=False)) for r in result["rows"]]
    width = max(len(f"{k} = {v}") for k, v in cells)
    lines = [f"{k} = {v}".ljust(width) + f"  <- {r['origin']}"
             for (k, v), r in zip(cells, result["rows"])]
    lines += [f"warning: {w}" for w in result["warnings"]]
    return "\n".join(lines)


def run(args) -> int:
    result = explain(args.overrides, getattr(args, "conf_tree", args.config_dir))
    if args.format == "json":
        print(json.dumps({"rows": result["rows"], "warnings": result["warnings"]}, indent=2,
                         ensure_ascii=False))
    else:
        from spyre_hydra.io.output import readable_stdout

        with readable_stdout():  # text to read: ASCII where stdout cannot hold a glyph
            print(format_text(result))
    return 0

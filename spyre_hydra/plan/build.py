"""From a composed tree to a LaunchPlan: checked, derived, no torch.

The checks run as spyre_hydra.plan.pipeline orders them; this module derives what vLLM
will be given from a tree that passed them. spyre_hydra.compose is the front door.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from omegaconf import DictConfig

from spyre_hydra.catalog.configurator import DeviceSettings, custom_code_allowed, make_configurator
from spyre_hydra.catalog.model_entry import ModelEntry
from spyre_hydra.catalog.plain import child, to_plain
from spyre_hydra.errors import Problem, UnsupportedRuntimeError
from spyre_hydra.plan.launchplan import LaunchPlan, Provenance, RunInputs
from spyre_hydra.plan.pipeline import check_tree

#: Plan keys that map straight onto vLLM EngineArgs fields.
ENGINE_KEYS = ("model", "tensor_parallel_size", "max_model_len", "max_num_seqs",
               "num_gpu_blocks_override", "max_num_batched_tokens")


def make_sources(option_files: Mapping[str, str], overrides: list[str]):
    """key -> where its value came from: a command-line override, else its group's file."""
    from spyre_hydra.conftree.roots import GROUPS

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


def plain_tree(cfg: DictConfig | Mapping, source) -> tuple[dict, list[Problem]]:
    """The tree as plain data without Hydra's node, and the values that failed to resolve."""
    problems: list[Problem] = []
    if not isinstance(cfg, DictConfig):
        return {k: v for k, v in cfg.items() if k != "hydra"}, problems
    tree = {}
    for key in cfg:
        if key == "hydra":
            continue
        try:
            tree[key] = to_plain(child(cfg, key), key, problems, source)
        except Exception as exc:  # noqa: BLE001 - an unresolvable top-level value
            problems.append(Problem(key, f"cannot be resolved: {str(exc).splitlines()[0]}.",
                                    source(key), f"give {key} a plain value, or point its "
                                    "${...} at a key that exists"))
            tree[key] = None
    return tree, problems


def build_plan(cfg: DictConfig | Mapping, option: str | None = None, overrides=(),
               option_files: Mapping[str, str] | None = None,
               environ: Mapping[str, str] | None = None, devices=(), choices=None,
               conf_tree=None, profile: Mapping | None = None) -> LaunchPlan:
    """Check a composed tree and derive its LaunchPlan (raises SpyreHydraError). `conf_tree`:
    the ConfTree it was composed from (its roots and fingerprint go into the plan); `profile`
    describes the model profile applied to the tree (spyre_hydra.plan.profile), if any."""
    from spyre_hydra.conftree.stamp import installed_versions

    environ = os.environ if environ is None else environ
    from spyre_hydra.plan.profile import profile_sources

    source = profile_sources(make_sources(option_files or {}, list(overrides)), profile,
                             list(overrides))
    tree, unresolved = plain_tree(cfg, source)
    strict, warnings = check_tree(tree, source, devices, unresolved, environ)
    model, rt, tp = tree["model"], tree["runtime"], tree["device"]["tp_size"]
    entry = ModelEntry.from_tree(model, option)
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
    measured = bool(profile and profile.get("as_measured"))
    # An unlisted layout keeps the model's device settings for its tp when it is explored
    # (sweep.explore=true) or runs a tuned profile as measured: that is what was measured.
    exploring = bool((tree.get("sweep") or {}).get("explore"))
    if not supported:
        error = UnsupportedRuntimeError(
            f"{entry.option} ({entry.name}) does not support tp{tp} with {asked}. Supported at "
            f"tp{tp}: {entry.describe_runtimes(tp)}. All: {entry.describe_runtimes()}. Fix: "
            "choose one of those (runtime.max_model_len=... runtime.max_num_seqs=... / "
            "runtime.warmup_shapes=... / device=...).")
        if strict:
            raise error
        if measured:
            warnings.append(f"{entry.option}: tp{tp} with {asked} is not a catalog entry; "
                            f"running profile {profile['name']!r} ({profile['id']}), measured "
                            "by spyre-hydra tune, with the model's device settings.")
        elif exploring:
            warnings.append(f"{error} Exploring (sweep.explore=true): running with the "
                            "model's device settings, marked verified: false.")
        else:
            warnings.append(f"{error} Running without the model's device settings.")
    if profile and not measured:
        warnings.append(f"profile {profile['name']!r} ({profile['id']}) is no longer as "
                        f"measured: the command line sets {', '.join(profile['overridden'])}.")
    applies = supported or measured or exploring
    sel = tree["selected"] if applies and rt["name"] == "cb" else {}
    settings = DeviceSettings(dict(sel.get("env") or {}), sel.get("num_gpu_blocks_override"),
                              sel.get("max_num_batched_tokens"))
    engine_args = {"model": model.get("path") or model["hf_id"], "tensor_parallel_size": tp,
                   "max_model_len": mml, "max_num_seqs": mns,
                   "num_gpu_blocks_override": user.get("num_gpu_blocks_override",
                                                       settings.num_gpu_blocks_override),
                   "max_num_batched_tokens": user.get("max_num_batched_tokens",
                                                      settings.max_num_batched_tokens)}
    engine_args.update({k: v for k, v in user.items() if k not in engine_args})
    # the model's own configurator when its file names one (checked without vLLM), on the
    # values the VllmConfig will hold; the opt-in to import a user's configurator is this
    # process's (os.environ), not the env the plan is for (bundles: {})
    configurator = make_configurator(model, {tp: settings}, strict, source("model.configurator"),
                                     custom_code_allowed(), warnings)
    summary = configurator.preview_layout(tp, user.get("num_gpu_blocks_override"),
                                          user.get("max_num_batched_tokens"), environ)
    configurator.check(summary)
    backend_env = {k: str(v) for k, v in (tree["backend"].get("env") or {}).items()}
    env = {k: str(v.applied) for k, v in summary.env_vars.items()}
    if shapes and all(n == 0 for _, n, _ in shapes):  # no new tokens: a pooling model,
        # which the plugin compiles for these shapes (it ignores them for decoders).
        for key, col in (("PROMPT_LENS", 0), ("BATCH_SIZES", 2)):
            name = f"SENDNN_INFERENCE_WARMUP_{key}"
            env[name] = environ.get(name, ",".join(str(s[col]) for s in shapes))
    provenance = Provenance(dict(choices or {}), dict(option_files or {}),
                            tuple(str(o) for o in overrides),
                            tuple(conf_tree.to_list()) if conf_tree else ())
    return LaunchPlan(
        entry.name, entry.option, tp, str(tree["sendnn_version"]["version"]), rt["name"],
        tree["mode"], tree["backend"]["name"], engine_args, env, backend_env, shapes,
        supported, summary.format_log_message(), summary.conflicts(), warnings, provenance,
        installed_versions(), conf_tree.fingerprint() if conf_tree else "", strict,
        run_inputs(tree), dict(profile) if profile else None,
        "catalog-verified" if supported else "tune-measured" if measured else "neither")


def run_inputs(tree: Mapping) -> RunInputs:
    """The run inputs of a checked tree: prompts only for a mode that reads them (the
    pipeline's inputs stage checked them already)."""
    from spyre_hydra.conftree.modes import MODES
    from spyre_hydra.plan.inputs import read_prompts

    spec = MODES.get(str(tree["mode"]))
    prompts = read_prompts(tree.get("prompts_file"), tree.get("prompts")) \
        if spec is not None and spec.prompts else ()
    serve = tree.get("serve") or {}
    sweep = {k: v for k, v in (tree.get("sweep") or {}).items()}
    return RunInputs(prompts, int(tree.get("max_tokens") or 16),
                     str(serve.get("host", "127.0.0.1")), int(serve.get("port", 8000)),
                     dict(tree.get("bench") or {}), sweep)

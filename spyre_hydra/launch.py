"""`spyre-launch`: the Hydra app.

Before Hydra runs, a pre-flight reads the command line with Hydra's own parsers and refuses
unknown group options with one readable paragraph (Hydra's message carries its search path
and, for errors raised in the task, a stack trace). It also turns `model=auto
model_path=DIR` into the matching `model=<option>`. Then Hydra composes as usual, so
`--cfg job`, `--info`, `-m` and every override keep working.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path

from .errors import SpyreHydraError, UnknownOptionError
from .output import emit
from .paths import GROUPS, group_options, search_path, shipped_conf_dir

log = logging.getLogger("spyre_hydra.launch")
PROG = "spyre-launch"


def _fail(error: Exception) -> None:
    print(f"{PROG}: error: {error}", file=sys.stderr)
    raise SystemExit(getattr(error, "exit_code", 2))


def _check_group_value(group: str, value: str, options: list[str], override: str) -> None:
    if value in options:
        return
    import difflib

    hint = difflib.get_close_matches(value, options, n=1)
    extra = ""
    if group == "sendnn_version":
        extra = f" Any version also works as sendnn_version.version={value}."
    raise UnknownOptionError(
        f"{override!r}: {group} has no option {value!r}." +
        (f" Did you mean {hint[0]!r}?" if hint else "") +
        f" Valid options: {', '.join(options)}.{extra} Fix: "
        + (f"{group}={hint[0]}" if hint else f"pick one of the valid options ({group}=<option>)")
        + f"; `spyre-hydra list` shows the models.")


def preflight(argv: list[str]) -> list[str]:
    """Check group options in argv, expand model=auto and resolve backend=auto; returns the
    argv to give Hydra."""
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    args, _ = get_args_parser().parse_known_args(argv)
    roots = search_path(args.config_dir) if args.config_dir else [shipped_conf_dir()]
    try:
        parsed = OverridesParser.create().parse_overrides(args.overrides)
    except OverrideParseException as exc:
        raise UnknownOptionError(f"cannot parse the command line: {str(exc).splitlines()[0]} "
                                 "Fix: quote values with spaces or brackets, e.g. "
                                 "'runtime.warmup_shapes=[[2048,1024,16]]'.") from None
    _check_yaml(roots)
    _check_output_dirs(parsed)
    rewrites: dict[str, list[str]] = _check_keys(parsed)
    model_path = next((o.value() for o in parsed if o.key_or_group == "model_path"
                       and not o.is_sweep_override()), None)
    for ov in parsed:
        group = ov.key_or_group
        if group not in GROUPS or ov.is_delete():
            continue
        options = group_options(group, roots)
        text = ov.input_line
        if ov.is_sweep_override():
            value = ov.value()
            if type(value).__name__ == "Glob":
                if not value.filter(options):
                    raise UnknownOptionError(f"{text!r}: the glob matches no {group} option. "
                                             f"Valid options: {', '.join(options)}. Fix: widen "
                                             f"the glob or list options ({group}=a,b).")
                continue
            for item in ov.sweep_string_iterator():
                _check_group_value(group, item, options, text)
            continue
        value = str(ov.value())
        _check_group_value(group, value, options, text)
        if group == "model" and value == "auto":
            rewrites[text] = _expand_auto(model_path, args.config_dir)
    out = []
    for item in argv:
        out += rewrites.get(item, [item])
    from .engine.backend import resolve_auto_backend  # metadata only: never imports torch

    return resolve_auto_backend(out, parsed, [o for a in args.overrides
                                              for o in rewrites.get(a, [a])], roots)


def _check_keys(parsed) -> dict[str, list[str]]:
    """Refuse unknown top-level keys with the valid ones; let engine_args.<k>= through.

    Hydra would say "Key 'mdoe' is not in struct" with a stack trace. engine_args is a free
    mapping of vLLM EngineArgs fields (checked against EngineArgs when the engine is built),
    so `engine_args.x=1` is rewritten to Hydra's add-or-override form `++engine_args.x=1`.
    """
    import dataclasses
    import difflib

    from .schema import LaunchConfig

    valid = [f.name for f in dataclasses.fields(LaunchConfig)]
    rewrites: dict[str, list[str]] = {}
    for ov in parsed:
        key = ov.key_or_group
        root = key.split(".")[0].split("[")[0]
        if ov.is_delete() or root.split("/")[0] == "hydra" or key in GROUPS or ov.package:
            continue
        if root not in valid:
            hint = difflib.get_close_matches(root, valid, n=1)
            raise UnknownOptionError(
                f"{ov.input_line!r}: unknown key {root!r}." +
                (f" Did you mean {hint[0]!r}?" if hint else "") +
                f" Valid top-level keys: {', '.join(valid)}. Fix: " +
                (f"{ov.input_line.replace(root, hint[0], 1)}" if hint else
                 "check the key (spyre-launch --cfg job shows the tree)") + ".")
        if root == "engine_args" and key != root and not ov.input_line.startswith("+"):
            rewrites[ov.input_line] = ["++" + ov.input_line]
    return rewrites


def _check_yaml(roots: list[Path]) -> None:
    """Hydra reports a YAML syntax error as a stack trace; name the file and line instead."""
    from .catalog import _read_yaml

    for root in roots:
        for path in sorted(root.rglob("*.yaml")):
            _read_yaml(path)


def _check_output_dirs(parsed) -> None:
    """An output dir that can't be created fails here, before Hydra makes a traceback of it."""
    import os

    from .errors import ConfigValidationError, Problem

    for ov in parsed:
        if ov.key_or_group not in ("hydra.run.dir", "hydra.sweep.dir") or ov.is_sweep_override():
            continue
        value = str(ov.value())
        if "${" in value:
            continue
        parent = Path(value).absolute()
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigValidationError([Problem(
                ov.key_or_group, f"{value!r} cannot be created: {str(parent)!r} is not a "
                "writable directory.", f"command line {ov.input_line!r}",
                f"choose a writable directory, e.g. {ov.key_or_group}=./outputs")])


def _expand_auto(model_path, conf_dir) -> list[str]:
    from .hfconfig import read_hf_config
    from .registry import get_model_registry

    if not model_path:
        raise UnknownOptionError("model=auto needs model_path=DIR (a checkpoint directory with "
                                 "config.json). Fix: add model_path=/path/to/checkpoint.")
    hf_config = read_hf_config(model_path)
    registry = get_model_registry(conf_dir)
    matches = registry.match_hf_config(hf_config)
    if not matches:
        raise UnknownOptionError(
            f"model=auto: no catalog pattern matches {model_path}/config.json (model_type="
            f"{hf_config.get('model_type')!r}). Fix: pick model=<option> yourself, or add a "
            "model file (README: adding a model).")
    best = matches[0]
    ties = [m.option for m in matches[1:] if m.architecture == best.architecture]
    if ties:
        print(f"{PROG}: model=auto is ambiguous: {model_path} matches {best.option} and "
              f"{', '.join(ties)} equally; using {best.option} (priority, then catalog order). "
              f"Pass model={best.option} to silence this.", file=sys.stderr)
    elif len(matches) > 1:
        print(f"{PROG}: model=auto picked {best.option} (most specific of "
              f"{', '.join(m.option for m in matches)}).", file=sys.stderr)
    return [f"model={best.option}", f"model.path={Path(model_path).resolve()}"]


def plan_from_config(cfg, hc) -> dict:
    """Build the plan of a composed tree, reading choices and sources from its Hydra node."""
    from .plan import build_plan

    choices = dict(hc.runtime.choices)
    files = {g: f"conf/{g}/{choices[g]}.yaml" for g in GROUPS if choices.get(g)}
    roots = [Path(s.path.replace("file://", "")) for s in hc.runtime.config_sources
             if s.provider in ("main", "command-line") and s.schema == "file"]
    devices = tuple(group_options("device", roots or [shipped_conf_dir()]))
    return build_plan(cfg, choices.get("model"), list(hc.overrides.task), files,
                      devices=devices)


def run(cfg) -> dict | None:
    """The task: plan, then hand the plan to the engine side for config/generate/serve."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from .resolvers import register_resolvers

    register_resolvers()  # a launcher may run this task in a fresh process (submitit)
    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:  # one job of a sweep: never raises, writes result.json
        from .sweep.job import run_job

        return run_job(cfg, hc, lambda: plan_from_config(cfg, hc))
    try:
        plan = plan_from_config(cfg, hc)
        for warning in plan["warnings"]:
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
        if plan["mode"] == "plan":
            emit(json.dumps(plan, indent=2, ensure_ascii=False))
            return plan
        from .engine.run import run_mode  # lazy: imports vLLM

        return run_mode(plan, cfg)
    except SpyreHydraError as error:
        _fail(error)
    return None


def _take_config_dir(argv: list[str]) -> tuple[str | None, list[str]]:
    """Remove `--config-dir DIR` from argv: the search-path plugin ranks DIR first instead."""
    out, user, items = [], None, iter(argv)
    for item in items:
        if item in ("--config-dir", "-cd"):
            user = next(items, None)
        elif item.startswith("--config-dir="):
            user = item.split("=", 1)[1]
        else:
            out.append(item)
    return user, out


@contextlib.contextmanager
def _no_mode_probe(argv: list[str], user_dir: str | None):
    """Skip Hydra's extra compose that only reads `hydra.mode`.

    Before running, Hydra composes the whole tree once just to read `hydra.mode`, and treats
    an unset one (our conf never sets it) as "use the command line". When neither an override
    nor a user conf dir can set it, that answer is known to be None: skipping the probe saves
    about a quarter of a `mode=plan` launch. Otherwise Hydra probes as usual.
    """
    from hydra._internal.hydra import Hydra

    if user_dir is not None or any("hydra.mode" in arg for arg in argv):
        yield
        return
    probe = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: None
    try:
        yield
    finally:
        Hydra.get_mode = probe


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    import hydra

    from .resolvers import register_resolvers
    from .schema import store_schemas

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv = preflight(argv)
    except SpyreHydraError as error:
        _fail(error)
    register_resolvers()
    store_schemas()
    user_dir, argv = _take_config_dir(argv)
    if user_dir is not None and not Path(user_dir).is_dir():
        _fail(UnknownOptionError(f"--config-dir {user_dir!r} is not a directory. Fix: pass a "
                                 "conf tree such as the output of `spyre-hydra import-legacy`."))
    from .searchpath import use_conf_dir

    use_conf_dir(user_dir)
    sys.argv = [PROG, *argv]
    app = hydra.main(config_path=str(shipped_conf_dir()), config_name="config",
                     version_base=None)(run)
    with _no_mode_probe(argv, user_dir):
        app()


if __name__ == "__main__":
    main()

"""`spyre-launch`: the Hydra app.

Before Hydra runs, a pre-flight reads the command line with Hydra's own parsers and refuses
unknown group options with one readable paragraph (Hydra's message carries its search path
and, for errors raised in the task, a stack trace). It also turns `model=auto
model_path=DIR` into the matching `model=<option>`. Then Hydra composes as usual, so
`--cfg job`, `--info`, `-m` and every override keep working.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from .errors import SpyreHydraError, UnknownOptionError
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
    """Check group options in argv and expand model=auto; returns the argv to give Hydra."""
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
    rewrites: dict[str, list[str]] = {}
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
                                             f"Valid options: {', '.join(options)}.")
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
    return out


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


def run(cfg) -> dict | None:
    """The task: plan, then hand the plan to the engine side for config/generate/serve."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from .plan import build_plan

    hc = HydraConfig.get()
    choices = dict(hc.runtime.choices)
    multirun = hc.mode == RunMode.MULTIRUN
    files = {g: f"conf/{g}/{choices[g]}.yaml" for g in GROUPS if choices.get(g)}
    roots = [Path(s.path.replace("file://", "")) for s in hc.runtime.config_sources
             if s.provider in ("main", "command-line") and s.schema == "file"]
    devices = tuple(group_options("device", roots or [shipped_conf_dir()]))
    try:
        plan = build_plan(cfg, choices.get("model"), list(hc.overrides.task), files,
                          devices=devices)
        for warning in plan["warnings"]:
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
        if plan["mode"] == "plan":
            print(json.dumps(plan, indent=2, ensure_ascii=False), flush=True)
            return plan
        from .engine.run import run_mode  # lazy: imports vLLM

        return run_mode(plan, cfg)
    except SpyreHydraError as error:
        if multirun:  # one bad point must not take the sweep down; the sweep reports it
            print(f"{PROG}: job {hc.job.num}: error: {error}", file=sys.stderr)
            return {"status": "failed", "error": str(error)}
        _fail(error)
    return None


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
    sys.argv = [PROG, *argv]
    app = hydra.main(config_path=str(shipped_conf_dir()), config_name="config",
                     version_base=None)(run)
    app()


if __name__ == "__main__":
    main()

"""Pre-flight of `spyre-launch`: the command line checked before Hydra sees it.

Hydra's own messages carry its search path and, for errors raised later, a stack trace.
Here the command line is read with Hydra's own parsers; unknown group options and keys are
refused with one readable paragraph, and `model=auto model_path=DIR` / `backend=auto` are
turned into the concrete options they pick.
"""

from __future__ import annotations

from pathlib import Path

from spyre_hydra.conftree.roots import GROUPS
from spyre_hydra.conftree.tree import ConfTree
from spyre_hydra.errors import UnknownOptionError

PROG = "spyre-launch"


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
        + "; `spyre-hydra list` shows the models.")


def preflight(argv: list[str], tree: ConfTree) -> list[str]:
    """`spyre-launch`'s argv (its --config-dir taken out already: `tree`) checked: group
    options, keys, paths; model=auto expanded and backend=auto resolved. Returns the argv
    to give Hydra."""
    from spyre_hydra.conftree.hydra_adapter import parse_launch_args

    args = parse_launch_args(argv)
    if args.experimental_rerun is not None:  # Hydra unpickles that file: data run as code
        raise UnknownOptionError(
            f"--experimental-rerun {args.experimental_rerun!r}: not supported, since it loads a "
            "pickle file (a pickle can run code). Fix: run spyre-launch with the same "
            "overrides again (a sweep job's result.json lists them under \"overrides\").")
    if args.shell_completion or args.hydra_help or args.help:
        return argv  # Hydra's own commands: their words are not overrides of our tree
    if args.config_dir is not None:  # a spelling the launcher's own reader did not take
        raise UnknownOptionError(f"--config-dir {args.config_dir!r}: give it as `--config-dir "
                                 "DIR` or `--config-dir=DIR`. Fix: spell the flag out in full.")
    return _rewrite(argv, args.overrides, tree, bool(args.multirun))


def check_overrides(overrides: list[str], tree: ConfTree, multirun: bool = False) -> list[str]:
    """The same checks and rewrites for an override list (the Python API's front door)."""
    return _rewrite(list(overrides), list(overrides), tree, multirun)


#: Overrides one launch (or compose() call) may give: Hydra parses and applies each in
#: turn (~0.4 ms apiece), so 10**6 of them would run for minutes before any answer.
MAX_OVERRIDES = 1_000
#: Characters one override may have: Hydra parses a value list at ~0.25 ms per value, so a
#: 1 MB list would keep the parser busy for a minute before any bound could count it.
MAX_OVERRIDE_CHARS = 100_000


def _rewrite(argv: list[str], overrides: list[str], tree: ConfTree, multirun: bool
             ) -> list[str]:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    if len(overrides) > MAX_OVERRIDES:
        raise UnknownOptionError(
            f"{len(overrides):,} overrides given; at most {MAX_OVERRIDES:,} are accepted. "
            "Fix: put the settings in a conf file of your own (--config-dir DIR / conf_dir=, "
            "e.g. DIR/model/<name>.yaml) or sweep them with range(...)/a,b,c values.")
    long = next((o for o in overrides if len(o) > MAX_OVERRIDE_CHARS), None)
    if long is not None:
        raise UnknownOptionError(
            f"the override {long[:40]!r}... is {len(long):,} characters long; at most "
            f"{MAX_OVERRIDE_CHARS:,} are accepted. Fix: sweep with range(start,stop,step), put "
            "long lists in a conf file (a named sweep conf/sweep/<name>.yaml, or "
            "prompts_file=FILE for prompts).")
    parser = OverridesParser.create()
    try:
        parsed = parser.parse_overrides(overrides)
    except OverrideParseException as exc:
        bad = next((o for o in overrides if not _parses(parser, o)), None)
        what = (f"{bad!r}: " if bad else "") + "cannot parse the command line"
        raise UnknownOptionError(f"{what}: {str(exc).splitlines()[0]} Fix: quote values with "
                                 "spaces or brackets (key=value), e.g. "
                                 "'runtime.warmup_shapes=[[2048,1024,16]]'.") from None
    if tree.user_dir is not None and any(
            o.key_or_group == "strict" and not o.is_sweep_override()
            and str(o.value()).lower() in ("true", "1") for o in parsed):
        from spyre_hydra.conftree.trust import check_user_root

        check_user_root(tree.user_dir, strict=True, shipped=tree.roots[-1])  # strict: refuse
    tree.check()
    _check_output_dirs(parsed)
    rewrites: dict[str, list[str]] = _check_keys(parsed)
    rewrites.update(_quote_versions(parsed))
    model_path = next((o.value() for o in parsed if o.key_or_group == "model_path"
                       and not o.is_sweep_override()), None)
    chosen_model = next((str(o.value()) for o in parsed if o.key_or_group == "model"
                         and not o.is_sweep_override()), None)
    if model_path is not None and chosen_model != "auto":
        raise UnknownOptionError(
            f"model_path={model_path!r} is only read with model=auto. Fix: model=auto "
            f"model_path={model_path} to pick the model from its config.json, or "
            f"model.path={model_path} to load that checkpoint as the chosen model.")
    for ov in parsed:
        group = ov.key_or_group
        if group not in GROUPS or ov.is_delete():
            continue
        options = tree.options(group)
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
            from spyre_hydra.plan.auto_model import expand_auto

            rewrites[text] = expand_auto(model_path, tree)
    _check_sweep_flags(parsed, multirun)
    out = []
    for item in argv:
        out += rewrites.get(item, [item])
    from spyre_hydra.plan.backend_argv import resolve_auto_backend  # metadata only

    return resolve_auto_backend(out, parsed, [o for a in overrides
                                              for o in rewrites.get(a, [a])], tree)


def _parses(parser, text: str) -> bool:
    from hydra.errors import OverrideParseException

    try:
        parser.parse_overrides([text])
    except OverrideParseException:
        return False
    return True


def _check_sweep_flags(parsed, multirun: bool) -> None:
    """A sweep value or a named sweep without -m would be refused by Hydra with a trace, or
    (for +sweep=) silently run one default job."""
    if multirun:
        return
    for ov in parsed:
        if ov.is_sweep_override():
            raise UnknownOptionError(f"{ov.input_line!r} sweeps several values. Fix: add -m "
                                     f"(spyre-launch -m ... {ov.input_line}) or give one value.")
        if ov.key_or_group == "sweep" and not ov.is_delete():
            raise UnknownOptionError(f"{ov.input_line!r} is a named sweep. Fix: add -m "
                                     f"(spyre-launch -m {ov.input_line} ...).")


def _quote_versions(parsed) -> dict[str, list[str]]:
    """`sendnn_version.version=1.10` would reach the tree as the float 1.1: keep the text."""
    out = {}
    for ov in parsed:
        if ov.key_or_group == "sendnn_version.version" and not (
                ov.is_sweep_override() or ov.is_delete()) and "=" in ov.input_line:
            raw = ov.input_line.split("=", 1)[1]
            if raw and raw[0] not in "'\"" and not isinstance(ov.value(), str) and \
                    ov.value() is not None:
                out[ov.input_line] = [f"{ov.input_line.split('=', 1)[0]}='{raw}'"]
    return out


def _check_keys(parsed) -> dict[str, list[str]]:
    """Refuse unknown top-level keys with the valid ones; let engine_args.<k>= through.

    Hydra would say "Key 'mdoe' is not in struct" with a stack trace. engine_args is a free
    mapping of vLLM EngineArgs fields (checked against EngineArgs when the engine is built),
    so `engine_args.x=1` is rewritten to Hydra's add-or-override form `++engine_args.x=1`.
    """
    import dataclasses
    import difflib

    from spyre_hydra.conftree.schema import LaunchConfig

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


def _check_output_dirs(parsed) -> None:
    """An output dir that can't be created fails here, before Hydra makes a traceback of it."""
    import os

    from spyre_hydra.errors import ConfigValidationError, Problem

    for ov in parsed:
        if ov.key_or_group not in ("hydra.run.dir", "hydra.sweep.dir") or ov.is_sweep_override():
            continue
        value = str(ov.value())
        if "${" in value:
            continue
        parent = Path(value).absolute()
        try:  # a parent we may not even look into (stat: EACCES) is as bad as a missing one
            while not parent.exists() and parent != parent.parent:
                parent = parent.parent
            why = None if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK) else \
                f"{str(parent)!r} is not a writable directory"
        except OSError as exc:
            why = exc.strerror or str(exc)
        if why:
            raise ConfigValidationError([Problem(
                ov.key_or_group, f"{value!r} cannot be created: {why}.",
                f"command line {ov.input_line!r}",
                f"choose a writable directory, e.g. {ov.key_or_group}=./outputs")])

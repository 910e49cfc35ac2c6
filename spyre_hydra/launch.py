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
from .paths import GROUPS, group_options, shipped_conf_dir
from .preflight import PROG, preflight  # noqa: F401 - preflight is part of this module's API

log = logging.getLogger("spyre_hydra.launch")


def _fail(error: Exception) -> None:
    print(f"{PROG}: error: {error}", file=sys.stderr)
    raise SystemExit(getattr(error, "exit_code", 2))


def plan_from_config(cfg, hc) -> dict:
    """Build the plan of a composed tree, reading choices and sources from its Hydra node."""
    from .plan import build_plan

    from .paths import find_config

    choices = dict(hc.runtime.choices)
    # Every file root Hydra searched: the user's conf dir (our search-path plugin or
    # --config-dir) as well as the shipped tree, so a user's device/tp8.yaml is valid too.
    roots = [Path(s.path.replace("file://", "")) for s in hc.runtime.config_sources
             if s.schema == "file"] or [shipped_conf_dir()]
    files = {}
    for group in GROUPS:
        if choices.get(group):
            found = find_config(f"{group}/{choices[group]}", roots)
            files[group] = str(found) if found else f"conf/{group}/{choices[group]}.yaml"
    devices = tuple(group_options("device", roots))
    plan = build_plan(cfg, choices.get("model"), list(hc.overrides.task), files,
                      devices=devices)
    plan["warnings"] += own_findings(plan["option"], roots)
    return plan


def own_findings(option: str, roots: list[Path]) -> list[str]:
    """The catalog's tie/shadow findings about this run's model only (the rest are
    `spyre-hydra check` findings)."""
    from .errors import UnknownModelError
    from .registry import get_model_registry

    user = [r for r in roots if r.resolve() != shipped_conf_dir().resolve()]
    try:
        notes = get_model_registry(user[0] if user else None).diagnostics_for(option)
    except UnknownModelError:  # a model outside the catalog (e.g. a replacing conf dir)
        return []
    return [f"catalog: {note} (spyre-hydra check lists every finding)" for note in notes]


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

    console = argv is None  # run as the spyre-launch script, not called from Python
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
    try:
        with _no_mode_probe(argv, user_dir):
            app()
    finally:
        if console:  # the process ends next: no collection of vLLM's heap at exit
            from .engine.gcpolicy import freeze_before_exit

            freeze_before_exit()


if __name__ == "__main__":
    main()

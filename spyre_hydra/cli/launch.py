"""`spyre-launch`: the Hydra app.

    argv -> pre-flight (checks.argv) -> Hydra composes (hydra.main) -> run(cfg):
    plan_from_config -> LaunchPlan -> mode=plan prints it | engine.modes.run_mode builds the
    VllmConfig and runs it

Before Hydra runs, the pre-flight reads the command line with Hydra's own parser and refuses
unknown group options and keys with one readable paragraph; it also turns `model=auto
model_path=DIR` into the matching `model=<option>` and `backend=auto` into the installed one.
Hydra's own flags (`--cfg job`, `--info`, `--hydra-help`, `-sc`, `-m`) keep working. A plain
`mode=plan` (no flag, no hydra.* override) skips Hydra's run machinery: one compose through
the compose API, the answer `spyre_hydra.compose` gives. Every error, from Hydra, OmegaConf,
the checks or the engine, ends in spyre_hydra.cli.boundary.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from spyre_hydra.cli.boundary import guarded
from spyre_hydra.conftree.roots import shipped_conf_dir
from spyre_hydra.errors import UnknownOptionError
from spyre_hydra.io.output import checked_stdout, emit

PROG = "spyre-launch"


def _task(cfg):
    from spyre_hydra.conftree.hydra_adapter import is_multirun, task_hydra_config
    from spyre_hydra.conftree.resolvers import register_resolvers
    from spyre_hydra.plan.front import plan_from_config

    register_resolvers()  # a launcher may run this task in a fresh process (submitit)
    hc = task_hydra_config()
    if is_multirun(hc):  # one job of a sweep: never raises, writes result.json
        from spyre_hydra.sweep.job import JobInfo, run_job
        from spyre_hydra.sweep.pointplan import plan_point
        from spyre_hydra.sweep.preflight import skip_unsupported

        job = JobInfo.from_hydra(hc, skip_unsupported(cfg))
        return run_job(job, lambda: plan_point(cfg, hc=hc))
    from spyre_hydra.conftree.modes import mode_spec

    plan = plan_from_config(cfg, hc)
    if _show(plan):
        return plan
    return mode_spec(plan.mode).run(plan)  # the mode table's runner (engine modes: lazy, imports vLLM)


def _show(plan) -> bool:
    """Print the plan's warnings, and the plan itself for mode=plan (then True: done)."""
    from spyre_hydra.conftree.modes import mode_spec

    for warning in plan.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    spec = mode_spec(plan.mode)
    if spec.runner is not None or spec.sweep_only:  # only mode=plan prints the plan itself
        return False
    emit(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
    return True


_MODE = re.compile(r"[+~]*mode(=|$)")
_HYDRA_KEY = re.compile(r"[+~]*hydra([./=@]|$)")


def _plan_alone(argv: list[str]) -> bool:
    """A plain `... mode=plan`: no flag (-m, --cfg, ...), no hydra.* override, and mode=plan
    the last word on mode. Hydra's run machinery (job dir, callbacks, hydra.job.env_set, and
    on Hydra 1.3 a whole second compose to read hydra.mode) has nothing to do for a plan."""
    modes = [a for a in argv if _MODE.match(a)]
    return bool(modes) and modes[-1] == "mode=plan" and not any(
        a.startswith("-") or _HYDRA_KEY.match(a) for a in argv)


def _print_plan(argv: list[str], tree) -> None:
    """mode=plan through the compose API: what `spyre_hydra.compose(argv)` answers (the
    overrides are checked already), logged the way Hydra's job would log."""
    from hydra.core.utils import configure_log

    from spyre_hydra.conftree.compose import compose_launch
    from spyre_hydra.plan.front import plan_from_config

    cfg = compose_launch(argv, tree)
    configure_log(cfg.hydra.job_logging, cfg.hydra.verbose)
    _show(plan_from_config(cfg, cfg.hydra, conf_tree=tree))


def run(cfg):
    """The Hydra task: plan, then hand the plan to the engine side for config/generate/serve.
    Errors end here (one paragraph, exit 2/3), never in Hydra's job-failure report. A sweep
    job records its own failures; an interrupt must unwind to the sweep, which keeps the
    finished results and exits 130 / 143, so jobs are not wrapped."""
    from spyre_hydra.conftree.hydra_adapter import is_multirun, task_hydra_config

    if is_multirun(task_hydra_config()):
        return _task(cfg)
    return guarded(PROG, _task, cfg)


def _take_config_dir(argv: list[str]) -> tuple[str | None, list[str]]:
    """Remove `--config-dir DIR` from argv: the search-path plugin ranks DIR first instead."""
    out, user, items = [], None, iter(argv)
    for item in items:
        if item in ("--config-dir", "-cd"):
            user = next(items, None)
            if user is None:  # no value: the pre-flight's parser names the flag
                out.append(item)
        elif item.startswith("--config-dir="):
            user = item.split("=", 1)[1]
        else:
            out.append(item)
    return user, out


def _register_sweeper() -> None:
    """Make spyre's Sweeper known to Hydra before a multirun instantiates it: Hydra's plugin
    scan does not see hydra_plugins/ in an editable install (harmless when it did). Done
    here, at the top of the import graph, since the sweeper imports the front door."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.spyre_sweeper.spyre_sweeper import SpyreSweeper

    Plugins.instance().register(SpyreSweeper)


def _version() -> str:
    import hydra

    from spyre_hydra._version import __version__

    return f"spyre_hydra {__version__} (spyre-launch), Hydra {hydra.__version__}"


def _main(argv: list[str]) -> None:
    from spyre_hydra.conftree.hydra_adapter import errors_raised, main_app
    from spyre_hydra.conftree.resolvers import register_resolvers
    from spyre_hydra.conftree.schema import store_schemas
    from spyre_hydra.conftree.searchpath import ranked_first
    from spyre_hydra.plan.argv import preflight

    if "--version" in argv:
        print(_version())
        return
    tree, argv = _front_door(argv)
    argv = preflight(argv, tree)
    register_resolvers()
    store_schemas()
    if _plan_alone(argv):
        return _print_plan(argv, tree)
    if any(a in ("-m", "--multirun") or a.startswith("hydra.mode") for a in argv):
        _register_sweeper()  # only a multirun instantiates a sweeper
    saved = sys.argv
    sys.argv = [PROG, *argv]
    app = main_app(run, str(shipped_conf_dir()), "config")
    try:  # Hydra builds its search path when the app starts: the user's dir ranks first
        with ranked_first(tree), errors_raised():
            app()
    finally:
        sys.argv = saved


def _front_door(argv: list[str]):
    """(the ConfTree of `--config-dir DIR`, argv without it): built once, before anything
    reads a conf file; the task reads the same roots back from Hydra's search path."""
    from spyre_hydra.conftree.tree import ConfTree

    user_dir, argv = _take_config_dir(argv)
    if user_dir == "":  # Path("") is the cwd: a conf tree nobody named
        raise UnknownOptionError("--config-dir '' is empty. Fix: pass a conf tree such as the "
                                 "output of `spyre-hydra import-legacy`, or leave the flag out.")
    if user_dir is not None and not Path(user_dir).is_dir():
        raise UnknownOptionError(f"--config-dir {user_dir!r} is not a directory. Fix: pass a "
                                 "conf tree such as the output of `spyre-hydra import-legacy`.")
    return ConfTree.at(user_dir), argv


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    if argv is not None:  # called from Python: a normal return or SystemExit
        with checked_stdout():
            guarded(PROG, _main, list(argv))
        return
    code: object = 0
    try:
        with checked_stdout():  # a full or ASCII-only stdout is named, not "a path"
            guarded(PROG, _main, list(sys.argv[1:]))
    except SystemExit as exc:
        code = exc.code
    # the process ends next: skip finalization's collection of vLLM's heap (see gcpolicy)
    from spyre_hydra.engine.gcpolicy import end_process

    end_process(code)


if __name__ == "__main__":
    main()

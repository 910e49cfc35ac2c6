"""`spyre-launch`: the Hydra app.

    argv -> pre-flight (checks.argv) -> Hydra composes (hydra.main) -> run(cfg):
    plan_from_config -> LaunchPlan -> mode=plan prints it | engine.modes.run_mode builds the
    VllmConfig and runs it

Before Hydra runs, the pre-flight reads the command line with Hydra's own parser and refuses
unknown group options and keys with one readable paragraph; it also turns `model=auto
model_path=DIR` into the matching `model=<option>` and `backend=auto` into the installed one.
Hydra's own flags (`--cfg job`, `--info`, `--hydra-help`, `-sc`, `-m`) keep working. Every
error, from Hydra, OmegaConf, the checks or the engine, ends in spyre_hydra.cli.boundary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from spyre_hydra.cli.boundary import guarded
from spyre_hydra.conftree.roots import shipped_conf_dir
from spyre_hydra.errors import UnknownOptionError
from spyre_hydra.io.output import emit

PROG = "spyre-launch"


def _task(cfg):
    from spyre_hydra.conftree.hydra_adapter import is_multirun, task_hydra_config
    from spyre_hydra.conftree.resolvers import register_resolvers
    from spyre_hydra.plan.front import plan_from_config

    register_resolvers()  # a launcher may run this task in a fresh process (submitit)
    hc = task_hydra_config()
    if is_multirun(hc):  # one job of a sweep: never raises, writes result.json
        from spyre_hydra.sweep.compose import plan_point
        from spyre_hydra.sweep.job import JobInfo, run_job
        from spyre_hydra.sweep.preflight import skip_unsupported

        job = JobInfo.from_hydra(hc, skip_unsupported(cfg))
        return run_job(job, lambda: plan_point(cfg, hc=hc))
    from spyre_hydra.conftree.modes import mode_spec

    plan = plan_from_config(cfg, hc)
    for warning in plan.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    spec = mode_spec(plan.mode)
    if spec.runner is None and not spec.sweep_only:  # mode=plan
        emit(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
        return plan
    return spec.run(plan)  # the mode table's runner (engine modes: lazy, imports vLLM)


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
    import hydra

    from spyre_hydra.conftree.hydra_adapter import errors_raised, skip_mode_probe
    from spyre_hydra.conftree.resolvers import register_resolvers
    from spyre_hydra.conftree.schema import store_schemas
    from spyre_hydra.plan.argv import preflight

    if "--version" in argv:
        print(_version())
        return
    argv = preflight(argv)
    register_resolvers()
    store_schemas()
    user_dir, argv = _take_config_dir(argv)
    if user_dir is not None and not Path(user_dir).is_dir():
        raise UnknownOptionError(f"--config-dir {user_dir!r} is not a directory. Fix: pass a "
                                 "conf tree such as the output of `spyre-hydra import-legacy`.")
    from spyre_hydra.conftree.searchpath import use_conf_dir

    use_conf_dir(user_dir)
    if any(a in ("-m", "--multirun") or a.startswith("hydra.mode") for a in argv):
        _register_sweeper()  # only a multirun instantiates a sweeper
    saved = sys.argv
    sys.argv = [PROG, *argv]
    app = hydra.main(config_path=str(shipped_conf_dir()), config_name="config",
                     version_base=None)(run)
    try:
        with errors_raised(), skip_mode_probe(argv, user_dir):
            app()
    finally:
        sys.argv = saved


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        guarded(PROG, _main, list(sys.argv[1:] if argv is None else argv))
    finally:
        if argv is None:  # the spyre-launch process ends next: no collection of vLLM's heap
            from spyre_hydra.engine.gcpolicy import freeze_before_exit

            freeze_before_exit()


if __name__ == "__main__":
    main()

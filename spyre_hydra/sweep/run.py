"""The steps of a sweep: expand, pre-flight (each point once), claim the dir, launch, report
(finish.py: the summary and the exit status).

Exit status: 2 when the sweep is refused before anything started (bad points, a dir owned
by another sweep, a launcher setting that cannot work); 1 when a job failed or left no
result; 130 / 143 after SIGINT / SIGTERM (finished results and the summary are kept;
`sweep.resume=true` runs the rest); 0 otherwise.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from spyre_hydra.errors import SpyreHydraError
from spyre_hydra.sweep import progress
from spyre_hydra.sweep.compose import PointComposer
from spyre_hydra.sweep.finish import finish, interrupt_in, interrupted
from spyre_hydra.sweep.ownership import MARKER, claim, done_points, release, resume_blockers
from spyre_hydra.sweep.preflight import Preflight, Ticker, refusal, skip_unsupported
from spyre_hydra.sweep.progress import Progress, Watcher, say
from spyre_hydra.sweep.results import MANIFEST, RESULT, read_manifest, write_json_atomic
from spyre_hydra.sweep.sweeper import (
    PLANNED,
    MemoLoader,
    Signals,
    batches,
    checkpoint,
    exit_code,
    now,
    print_jsonl,
)


def _fail(error: Exception | str, code: int = 2) -> None:
    say(f"error: {error}")
    raise SystemExit(code)


def _option(config, key: str, default=None):
    node = config.get("sweep") or {}
    return node.get(key, default) if hasattr(node, "get") else default


def preflight(sweeper, arguments: list[str]) -> tuple[Preflight, PointComposer]:
    """Expand and check every point; refuse the sweep on bad points (exit 2)."""
    try:
        points = sweeper.expand(arguments)
    except SpyreHydraError as error:
        _fail(error)
    except Exception as error:  # Hydra's override parser
        _fail(f"cannot expand the sweep: {str(error).strip()} Fix: use a,b,c lists, "
              "range(...), glob(...) or choice(...) values.")
    composer = PointComposer(sweeper.config, sweeper.hydra_context.config_loader)
    result = Preflight(points)
    ticker = Ticker(len(points))
    for index, point in enumerate(points):
        checked = composer.check(point)
        line = ticker.tick(index + 1)
        if line:
            say(line)
        if checked.broken:
            result.broken[index] = checked.broken
        elif checked.bad:
            result.bad[index] = checked.bad
        else:
            result.plans[index] = checked.plan
    if result.refused(skip_unsupported(sweeper.config)):
        error = refusal(result)
        _fail(error, error.exit_code)
    return result, composer


def _check_launcher(config) -> None:
    launcher = config.hydra.launcher
    if "n_jobs" in launcher and launcher.n_jobs is not None and int(launcher.n_jobs) == 0:
        _fail("hydra.launcher.n_jobs=0 runs no job. Fix: hydra.launcher.n_jobs=<N > 0> "
              "(or -1 for one per CPU).")


def run_sweep(sweeper, arguments: list[str]):
    """Hydra's Sweeper.sweep for spyre-launch."""
    started = now()
    config = sweeper.config
    try:
        with Signals(immediate=True):  # nothing is written before the first job
            result, composer = preflight(sweeper, arguments)
    except KeyboardInterrupt as error:
        say("interrupted during the pre-flight: no job was started and nothing was written.")
        raise SystemExit(exit_code(error)) from None
    points, n = result.points, len(result.points)
    skipped = sorted(result.bad)
    text = f"sweep of {n} point{'s' if n != 1 else ''} checked in {now() - started:.2f}s"
    if skipped:
        text += f"; {len(skipped)} will be skipped (sweep.skip_unsupported=true)"
    say(text)
    # every point skipped: the sweep's own mode decides whether this was a dry run
    from spyre_hydra.conftree.modes import MODES

    modes = {p.mode for p in result.plans.values()} or {str(config.get("mode"))}
    dry = all(MODES[m].in_process and MODES[m].runner is None for m in modes if m in MODES)
    if dry and not sweeper.user_sweep_dir():
        # a dry run: the plans are known, nothing is launched and nothing is written
        varying = result.varying()
        for index in skipped:
            say(f"skipped {progress.label(points[index], varying)}: "
                f"{progress.short(result.bad[index])}")
        print_jsonl([result.plans[i].to_dict() for i in sorted(result.plans)])
        say(f"{len(result.plans)} planned, {len(skipped)} skipped (dry run: nothing written; "
            "give hydra.sweep.dir=DIR to keep result.json files and a summary)")
        return []
    _check_launcher(config)
    resume = bool(_option(config, "resume", False))
    sweep_dir = sweeper.fix_sweep_dir()
    composer.sweep_dir_fixed(str(sweep_dir))
    existed = sweep_dir.exists()
    blocked = resume_blockers(sweep_dir, n) if resume else None
    if blocked:
        _fail(blocked)
    try:
        claim(sweep_dir, points, resume)
    except SpyreHydraError as error:
        _fail(error)
    done = done_points(sweep_dir, n) if resume else set()
    in_place = str(config.hydra.launcher.get("_target_", "")).endswith(".BasicLauncher")
    memo = MemoLoader(sweeper.hydra_context.config_loader, composer, in_place)
    todo = [i for i in range(n) if i not in result.bad and i not in done]
    for index in todo:
        memo.points.add(tuple(points[index]))
        PLANNED[index] = result.plans[index]
    try:
        launcher = sweeper.make_launcher(memo)
    except Exception as error:
        _cleanup(sweep_dir, existed)
        _fail(f"the launcher cannot start: {str(error).strip()} Fix: check hydra.launcher.* "
              "(spyre-launch --cfg hydra -p hydra.launcher shows them).")
    manifest = read_manifest(sweep_dir) if resume else None
    write_json_atomic(sweep_dir / MANIFEST, {
        "points": [progress.label(p) for p in points],
        "skipped": {str(k): v for k, v in sorted(result.bad.items())},
        "started": (manifest or {}).get("started") or _stamp()})
    if done:
        say(f"resuming: {len(done)} of {n} points already have an ok result; "
            f"{len(todo)} to run")
    progress.current = tracker = Progress(n, len(todo), result.varying())
    for index in skipped:
        _skip(sweep_dir, index, points[index], result.bad[index], config)
    watcher = None
    if type(launcher).__name__ != "BasicLauncher":
        say(f"submitting {len(todo)} jobs via {type(launcher).__name__}; progress is reported "
            "here as each job finishes")
        watcher = Watcher(sweep_dir, set(todo))
        watcher.start()
    returns, code = [], 0
    # In-process jobs (the basic launcher) take a signal at the next job boundary; other
    # launchers only wait here, so the signal may stop the wait at once.
    with Signals(immediate=watcher is not None):
        try:
            for batch in batches(todo, sweeper.max_batch_size):
                returns.append(launcher.launch([points[i] for i in batch],
                                               initial_job_idx=batch[0]))
                checkpoint()  # a signal during the batch's last job
        except KeyboardInterrupt as error:
            code = interrupted(error, sweep_dir)
        except SystemExit:
            raise
        except Exception as error:
            stop = interrupt_in(error)
            if stop is not None:  # the signal hit inside OmegaConf, whose cleanup then raised
                code = interrupted(stop, sweep_dir)
            else:
                if tracker.ran == 0:
                    _cleanup(sweep_dir, existed)
                    _fail(f"the launcher failed before any job ran: {type(error).__name__}: "
                          f"{str(error).strip()} Fix: check hydra.launcher.* settings.")
                say(f"error: the launcher failed: {type(error).__name__}: {error}")
                code = 1
        finally:
            if watcher is not None:
                watcher.stop()
            memo.close()
            PLANNED.clear()
            bench = sys.modules.get("spyre_hydra.sweep.bench")
            if bench is not None:  # a bench sweep in this process: its last server
                bench.stop_server()
    code = finish(sweep_dir, code)
    release(sweep_dir)
    progress.current = None
    if code:
        raise SystemExit(code)
    return returns


def _stamp() -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _skip(sweep_dir: Path, index: int, point, error: str, config) -> None:
    record = {"job": {"num": index, "dir": str(sweep_dir / str(index)), "overrides": point},
              "outcome": "skipped", "error": error, "plan": None, "env": None,
              "engine": None, "timings": {}}
    write_json_atomic(sweep_dir / str(index) / RESULT, record)
    progress.report_record(record)


def _cleanup(sweep_dir: Path, existed: bool) -> None:
    """Remove a sweep dir this sweep created and that holds only its own bookkeeping."""
    if existed or not sweep_dir.is_dir():
        return
    if {p.name for p in sweep_dir.iterdir()} <= {MARKER, MANIFEST, ".spyre_sweep.lock"}:
        shutil.rmtree(sweep_dir, ignore_errors=True)

"""The sweep's Hydra callback: pre-flight before any job, a progress line per job, and the
summary table and plot when the sweep ends. Registered in conf/config.yaml (hydra.callbacks);
it does nothing for a single run.

Progress: the basic and joblib launchers run on_job_start/end where stderr is the user's.
Launchers whose jobs run elsewhere (submitit local or slurm) send those lines to the job's
log (.submitit/), so the launching process watches the sweep dir instead and prints a line
as each job's result.json appears. When the sweep ends with a failed or missing job, the
process exits 1 after the summary is written (skipped points alone do not fail a sweep);
SystemExit passes through Hydra's callback and error handling, as in the pre-flight.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .preflight import (
    plural,
    point_label,
    refusal,
    run_preflight,
    short,
    skip_unsupported,
)
from .results import (
    MANIFEST,
    count_outcomes,
    read_result,
    result_files,
    write_json_atomic,
)

PROG = "spyre-launch"
#: Launchers that run on_job_start/end with the user's stderr: no need to watch the dir.
IN_VIEW = ("hydra._internal.core_plugins.basic_launcher.BasicLauncher",
           "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher")
#: Outcome counts of the last sweep this process ran (ok, failed, skipped, missing), for a
#: caller that runs the app in-process; None before a sweep has ended.
LAST_SWEEP: dict[str, int] | None = None


def _say(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


class SweepCallback(Callback):
    """Pre-flight (on_multirun_start), progress (on_job_start/end), summary (on_multirun_end)."""

    def __init__(self, summary: bool = True) -> None:
        self.summary = summary
        self.total: int | None = None
        self.varying: frozenset[str] = frozenset()
        self.watcher: _Watcher | None = None

    def __getstate__(self) -> dict:
        # submitit pickles the launcher with its callbacks for every job; the watcher thread
        # belongs to the launching process only
        return {**self.__dict__, "watcher": None}

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        from hydra.core.global_hydra import GlobalHydra

        started = time.perf_counter()
        try:
            result = run_preflight(config, GlobalHydra.instance().config_loader())
        except Exception as error:  # e.g. a sweep type the basic sweeper has no use for
            print(f"{PROG}: error: cannot expand the sweep: {error} Fix: use a,b,c lists, "
                  "range(...) or glob(...) values.", file=sys.stderr, flush=True)
            raise SystemExit(2) from None
        if result.refused(skip_unsupported(config)):
            # SystemExit passes through Hydra's error reporting: one message, no traceback,
            # and the launcher has not created a single job dir yet.
            print(f"{PROG}: error: {refusal(result)}", file=sys.stderr, flush=True)
            raise SystemExit(refusal(result).exit_code)
        self.total = len(result.points) or None
        self.varying = result.varying()
        sweep_dir = Path(str(config.hydra.sweep.dir))
        write_json_atomic(sweep_dir / MANIFEST, {
            "points": [point_label(p) for p in result.points],
            "skipped": {str(k): v for k, v in sorted(result.bad.items())},
            "argv": sys.argv[1:],
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        text = f"sweep of {plural(len(result.points), 'point')} checked in " \
               f"{time.perf_counter() - started:.2f}s"
        if result.bad:
            text += f"; {len(result.bad)} will be skipped (sweep.skip_unsupported=true):"
            text += "".join(f"\n  - job {i} ({result.describe(i)}): {short(e)}"
                            for i, e in sorted(result.bad.items()))
        _say(text)
        launcher = str(config.hydra.launcher.get("_target_"))
        if launcher not in IN_VIEW:
            logs = config.hydra.launcher.get("submitit_folder") or "the launcher's logs"
            _say(f"submitting {plural(len(result.points), 'job')} via "
                 f"{launcher.rpartition('.')[2]}; their output goes to {logs}, progress is "
                 "reported here as each job finishes")
            self.watcher = _Watcher(sweep_dir, self.total, self.varying)
            self.watcher.start()

    def _position(self, config: DictConfig) -> tuple[int, str]:
        num = int(config.hydra.job.num)
        total = self.total or "?"
        return num, f"[{num + 1}/{total}]"

    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        if not _is_multirun(config):
            return
        num, where = self._position(config)
        failed = count_outcomes(str(config.hydra.sweep.dir))["failed"]
        left = f"{self.total - num - 1} left, " if self.total else ""
        label = point_label(config.hydra.overrides.task, self.varying)
        _say(f"{where} running {label}  ({left}failures so far: {failed})")

    def on_job_end(self, config: DictConfig, job_return=None, **kwargs) -> None:
        if not _is_multirun(config) or job_return is None:
            return
        value = getattr(job_return, "_return_value", None)
        if isinstance(value, dict) and value.get("outcome") in ("failed", "skipped"):
            _, where = self._position(config)
            _say(f"{where} {value['outcome']}: {short(value.get('error') or '')}")

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from .report import collect, write_summary

        global LAST_SWEEP
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir():
            return
        if self.summary:
            summary = write_summary(sweep_dir)
            _say(f"sweep done: {summary['notes'][0]}. Summary: "
                 + ", ".join(str(p) for p in summary["written"]))
            for note in summary["notes"][1:]:
                _say(note)
            rows = summary["rows"]
        else:
            rows = collect(sweep_dir)[0]
        counts = dict.fromkeys(("ok", "failed", "skipped", "missing"), 0)
        for row in rows:
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
        LAST_SWEEP = counts
        bad = counts["failed"] + counts["missing"]
        line = f"{counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} skipped"
        _say(line + (f", {counts['missing']} missing" if counts["missing"] else ""))
        if bad:
            raise SystemExit(1)


class _Watcher(threading.Thread):
    """Prints `[k/N] job i (point): outcome` as result.json files appear in the sweep dir."""

    def __init__(self, sweep_dir: Path, total: int | None, varying: frozenset[str]) -> None:
        super().__init__(name="spyre-sweep-progress", daemon=True)
        self.sweep_dir, self.total, self.varying = sweep_dir, total, varying
        self.seen: set[Path] = set()
        self.done = threading.Event()
        self.lock = threading.Lock()  # stop() reports too, should join() time out

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.report_new()

    def stop(self) -> None:
        """Stop polling, then report what finished since the last poll."""
        self.done.set()
        self.join(timeout=5)
        self.report_new()

    def report_new(self) -> None:
        """One line per job whose result.json is new since the last call."""
        with self.lock:
            self._report_new()

    def _report_new(self) -> None:
        for path in result_files(self.sweep_dir):
            if path in self.seen:
                continue
            self.seen.add(path)
            data = read_result(path)
            job = data["job"]
            label = point_label(job.get("overrides") or [], self.varying)
            why = f": {short(data.get('error') or '')}" if data.get("error") else ""
            _say(f"[{len(self.seen)}/{self.total or '?'}] job {job.get('num')} ({label}) "
                 f"{data.get('outcome')}{why}")


def _is_multirun(config: DictConfig) -> bool:
    from hydra.types import RunMode

    return config.hydra.get("mode") == RunMode.MULTIRUN

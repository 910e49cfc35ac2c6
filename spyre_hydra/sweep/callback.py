"""The sweep's Hydra callback: pre-flight before any job, a progress line per job, and the
summary table and plot when the sweep ends. Registered in conf/config.yaml (hydra.callbacks);
it does nothing for a single run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .preflight import point_label, refusal, run_preflight, short, skip_unsupported
from .results import MANIFEST, count_outcomes, write_json_atomic

PROG = "spyre-launch"


def _say(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


class SweepCallback(Callback):
    """Pre-flight (on_multirun_start), progress (on_job_start/end), summary (on_multirun_end)."""

    def __init__(self, summary: bool = True) -> None:
        self.summary = summary
        self.total: int | None = None
        self.varying: frozenset[str] = frozenset()

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
        text = f"sweep of {len(result.points)} points checked in " \
               f"{time.perf_counter() - started:.2f}s"
        if result.bad:
            text += f"; {len(result.bad)} will be skipped (sweep.skip_unsupported=true):"
            text += "".join(f"\n  - job {i} ({result.describe(i)}): {short(e)}"
                            for i, e in sorted(result.bad.items()))
        _say(text)

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
        from .report import write_summary

        if not self.summary:
            return
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir():
            return
        summary = write_summary(sweep_dir)
        _say(f"sweep done: {summary['notes'][0]}. Summary: "
             + ", ".join(str(p) for p in summary["written"]))
        for note in summary["notes"][1:]:
            _say(note)


def _is_multirun(config: DictConfig) -> bool:
    from hydra.types import RunMode

    return config.hydra.get("mode") == RunMode.MULTIRUN

"""One job of a sweep: plan, run (plan mode in-process, engines in a fresh process), record.

A job never raises: Hydra's basic sweeper re-raises the first failed job after its batch and
would drop the rest, so every outcome -- ok, failed with the error, skipped -- goes into the
job's result.json and the return value instead.

What a job does is its mode's (spyre_hydra.conftree.modes): an in-process mode (plan) runs
here; a mode with a sweep runner (bench) calls it with (plan, env, job); an engine mode
(config, generate) runs the mode's runner on the plan in a new Python process (see
worker.py) whose environment is the user's plus this job's settings:
vLLM and the Spyre plugin read env vars at import, so only a fresh process sees exactly
them. run_mode must return a dict; the sweep records it under "engine" and reads these
optional timing keys from it, at its top level or under "timings" (or from its first row
when it returns a list of rows):
    import_vllm_s, config_s  seconds to import vLLM / to build and check the VllmConfig
    engine_start_s  seconds from the call to a ready engine (on Spyre: includes the
                    compile/warm-up of the shapes, done while the engine starts)
    generate_s      seconds spent generating
    tokens_per_s    generated tokens per second
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spyre_hydra.errors import SpyreHydraError
from spyre_hydra.io.reading import InputError, read_text_bounded
from spyre_hydra.io.writer import open_stream
from spyre_hydra.sweep.isolation import (
    apply_settings,
    env_difference,
    job_start_environment,
    user_environment,
)
from spyre_hydra.sweep.results import RESULT, write_json_atomic

TIMING_KEYS = ("import_vllm_s", "config_s", "engine_start_s", "generate_s", "tokens_per_s")
ENGINE_LOG = "engine.log"


@dataclass(frozen=True)
class JobInfo:
    """Which job of the sweep this is (Hydra's job node, read once by the caller)."""

    num: int
    id: str
    dir: Path
    overrides: tuple[str, ...]
    skip_unsupported: bool = False
    """sweep.skip_unsupported: a point whose plan fails is skipped, not failed."""

    @classmethod
    def from_hydra(cls, hc, skip_unsupported: bool = False) -> "JobInfo":
        """From a job's HydraConfig node (the task reads it; this module never does)."""
        return cls(int(hc.job.num), str(hc.job.id), Path(hc.runtime.output_dir),
                   tuple(str(o) for o in hc.overrides.task), skip_unsupported)


class EngineJobError(SpyreHydraError):
    """The engine process of a sweep job failed; the message ends with its log's last lines."""


def _error_text(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if isinstance(error, SpyreHydraError) else f"{type(error).__name__}: {text}"


def _env_record(applied: dict, kept: dict, during: dict, start: dict) -> dict[str, Any]:
    user = user_environment()
    return {
        "set": applied,  # this job's settings, added to the user's environment
        "kept": kept,    # settings the user had already set: the user's value stays
        # names that differ from the user's environment while the job ran: exactly "set"
        # when jobs are isolated (None when the job runs where the sweep did not start)
        "delta": env_difference(during, user) if user is not None else None,
        # names a previous job left behind at this job's start: always [] when isolated
        "leaked": env_difference(start, user) if user is not None else None,
    }


def _timings(value: Any) -> dict[str, Any]:
    row = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else value
    if not isinstance(row, dict):
        return {}
    found = {k: row[k] for k in TIMING_KEYS if row.get(k) is not None}
    found.update({k: v for k, v in (row.get("timings") or {}).items() if k in TIMING_KEYS})
    return found


def run_engine(plan, env: dict[str, str], job_dir: Path) -> Any:
    """Run the plan's mode in a fresh interpreter with `env`; returns its result. The plan
    crosses the process boundary as its JSON form, and carries its conf roots."""
    from spyre_hydra.conftree.modes import mode_spec, spec_to_dict

    # The mode's spec and this process's import path go along: a mode registered at run time
    # (register_mode from the user's module) is not in the fresh interpreter's table.
    payload = json.dumps({"plan": plan.to_dict(), "mode": spec_to_dict(mode_spec(plan.mode)),
                          "sys_path": [p for p in sys.path if isinstance(p, str)]}, default=str)
    out = job_dir / ".engine_result.json"
    log_path = job_dir / ENGINE_LOG
    with open_stream(log_path) as log:
        proc = subprocess.run([sys.executable, "-m", "spyre_hydra.sweep.worker", str(out)],
                              input=payload, text=True, stdout=log, stderr=subprocess.STDOUT,
                              env=env, check=False)
    try:
        data = json.loads(read_text_bounded(out, what="engine result"))
        out.unlink()
    except (InputError, OSError, ValueError, RecursionError):
        data = {}
    if "error" in data:  # run_mode raised: its message says what went wrong
        raise EngineJobError(f"{data['error']} (engine log: {log_path})")
    if proc.returncode != 0 or "result" not in data:  # the process died: show how
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        raise EngineJobError(f"the engine process exited with code {proc.returncode} "
                             f"(engine log: {log_path})" + "".join("\n  " + t for t in tail))
    return data["result"]


def run_job(job: JobInfo, make_plan) -> dict[str, Any]:
    """Run one sweep point and write its result.json; returns the same record.
    `make_plan()` plans and checks the point (a launcher that runs jobs elsewhere)."""
    from spyre_hydra.conftree.modes import mode_spec
    from spyre_hydra.sweep.sweeper import checkpoint, interruptible

    checkpoint()  # a signal since the last job: stop before this one starts
    started = time.perf_counter()
    job_dir = job.dir
    record: dict[str, Any] = {
        "job": {"num": job.num, "id": job.id, "dir": str(job_dir),
                "overrides": list(job.overrides)},
        "outcome": None, "error": None, "plan": None, "env": None, "engine": None,
        "timings": {},
    }
    try:
        try:
            plan = _planned(job, make_plan)
        except SpyreHydraError as error:
            if not job.skip_unsupported:
                raise
            record.update(outcome="skipped", error=str(error))
            return record
        record["plan"] = plan.to_dict()  # the JSON edge: result.json
        record["verified"] = bool(plan.supported)  # false: an unlisted layout (sweep.explore)
        record["timings"]["plan_s"] = round(time.perf_counter() - started, 4)
        start_env = job_start_environment()
        spec = mode_spec(plan.mode)
        if spec.in_process:
            # Applied in this process so that whatever runs in the job sees its settings, as
            # an engine would; IsolationCallback takes them out again when the job ends.
            applied, kept = apply_settings(plan.env)
            record["env"] = _env_record(applied, kept, dict(os.environ), start_env)
            if spec.runner is None:  # mode=plan: the plan is the result
                print(json.dumps(record["plan"], ensure_ascii=False, separators=(",", ":")),
                      flush=True)
            else:
                record["engine"] = spec.run(plan, dict(os.environ))
        else:  # a child process (engine, or server + benchmark) gets the job's env
            env = dict(start_env)
            applied, kept = apply_settings(plan.env, env)
            record["env"] = _env_record(applied, kept, env, start_env)
            if spec.sweep_runner:
                from spyre_hydra.conftree.modes import _load

                with interruptible():
                    value = _load(spec.sweep_runner, spec.name)(plan, env, job)
                record[spec.name] = value
                record["timings"].update(value.get("timings") or {})
            else:
                with interruptible():
                    value = run_engine(plan, env, job_dir)
                record["engine"] = value
                record["timings"].update(_timings(value))
        record["outcome"] = "ok"
    except Exception as error:  # recorded, never raised: the other points must go on
        record.update(outcome="failed", error=_error_text(error))
    finally:
        if record["outcome"] is None:  # KeyboardInterrupt or SystemExit: record, then stop
            record.update(outcome="failed", error="interrupted before the job finished")
        record["timings"]["total_s"] = round(time.perf_counter() - started, 4)
        write_json_atomic(job_dir / RESULT, record)
        from spyre_hydra.sweep.progress import report_record

        report_record(record)  # in the sweep's own process (basic launcher): one line
    return record


def _planned(job: JobInfo, make_plan):
    """The plan the sweep's pre-flight made for this job, else `make_plan()` (a launcher
    that runs jobs in another process: it plans and applies the point checks)."""
    from spyre_hydra.sweep.sweeper import PLANNED

    plan = PLANNED.pop(job.num, None)
    return plan if plan is not None else make_plan()

"""One job of a sweep: plan, run (plan mode in-process, engines in a fresh process), record.

A job never raises: Hydra's basic sweeper re-raises the first failed job after its batch and
would drop the rest, so every outcome -- ok, failed with the error, skipped -- goes into the
job's result.json and the return value instead.

Engine jobs (mode=config|generate) run `spyre_hydra.engine.run.run_mode(plan, cfg)` in a new
Python process (see worker.py) whose environment is the user's plus this job's settings:
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
from spyre_hydra.sweep.preflight import skip_unsupported
from spyre_hydra.sweep.results import RESULT, write_json_atomic

TIMING_KEYS = ("import_vllm_s", "config_s", "engine_start_s", "generate_s", "tokens_per_s")
ENGINE_LOG = "engine.log"


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


def run_engine(plan: dict, cfg, env: dict[str, str], job_dir: Path, hc=None) -> Any:
    """Run run_mode(plan, cfg) in a fresh interpreter with `env`; returns its result."""
    from omegaconf import OmegaConf

    payload = json.dumps({"plan": plan, "cfg": OmegaConf.to_container(cfg, resolve=True),
                          # the engine side reads the job's Hydra node (e.g. --config-dir)
                          "hydra": OmegaConf.to_container(hc, resolve=False) if hc else None},
                         default=str)
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


def run_job(cfg, hc, make_plan) -> dict[str, Any]:
    """Run one sweep point and write its result.json; returns the same record."""
    from spyre_hydra.sweep.sweeper import checkpoint, interruptible

    checkpoint()  # a signal since the last job: stop before this one starts
    started = time.perf_counter()
    job_dir = Path(hc.runtime.output_dir)
    record: dict[str, Any] = {
        "job": {"num": hc.job.num, "id": str(hc.job.id), "dir": str(job_dir),
                "overrides": list(hc.overrides.task)},
        "outcome": None, "error": None, "plan": None, "env": None, "engine": None,
        "timings": {},
    }
    try:
        try:
            plan = _planned(cfg, hc, make_plan)
        except SpyreHydraError as error:
            if not skip_unsupported(cfg):
                raise
            record.update(outcome="skipped", error=str(error))
            return record
        record["plan"] = plan
        record["verified"] = bool(plan["supported"])  # false: an unlisted layout (sweep.explore)
        record["timings"]["plan_s"] = round(time.perf_counter() - started, 4)
        start_env = job_start_environment()
        if plan["mode"] == "plan":
            # Applied in this process so that whatever runs in the job sees its settings, as
            # an engine would; IsolationCallback takes them out again when the job ends.
            applied, kept = apply_settings(plan["env"])
            record["env"] = _env_record(applied, kept, dict(os.environ), start_env)
            print(json.dumps(plan, ensure_ascii=False, separators=(",", ":")), flush=True)
        else:  # a child process (engine, or server + benchmark) gets the job's env
            env = dict(start_env)
            applied, kept = apply_settings(plan["env"], env)
            record["env"] = _env_record(applied, kept, env, start_env)
            if plan["mode"] == "bench":
                from spyre_hydra.sweep.bench import run_bench

                with interruptible():
                    value = run_bench(plan, cfg, hc, env, job_dir)
                record["bench"] = value
                record["timings"].update(value.get("timings") or {})
            else:
                with interruptible():
                    value = run_engine(plan, cfg, env, job_dir, hc)
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


def _planned(cfg, hc, make_plan) -> dict[str, Any]:
    """The plan the sweep's pre-flight made for this job, else plan and check it here
    (a launcher that runs jobs in another process)."""
    from spyre_hydra.sweep.compose import PointError, loadable_problems
    from spyre_hydra.sweep.preflight import point_problems
    from spyre_hydra.sweep.sweeper import PLANNED

    plan = PLANNED.pop(int(hc.job.num), None)
    if plan is not None:
        return plan
    plan = make_plan()
    problems = point_problems(plan, cfg)
    if plan["mode"] != "plan":
        problems += loadable_problems(plan)
    if problems:
        raise PointError(" ".join(problems))
    return plan

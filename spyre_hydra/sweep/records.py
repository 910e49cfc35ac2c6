"""The shape of a result.json as the report reads it, checked before any of it is used.

A result.json is data on disk that anyone may have edited or damaged. `sweep-report` turns a
record whose parts have the wrong type (a plan that is a list, an outcome that is a mapping,
a shape of two numbers, a timing that is text) into that job's one "failed" row naming what
is wrong, as it does for a file that is not JSON: never a crash (exit 3) in the middle of a
report.
"""

from __future__ import annotations

import math
from typing import Any

from spyre_hydra.sweep.results import OUTCOMES


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _numbers(node: Any, where: str, problems: list[str], finite: bool = False) -> None:
    """A mapping of name -> number or None (timings, bench metrics); with `finite`, an inf
    or nan is refused too (a duration spyre_hydra measured is never one)."""
    if node is None:
        return
    if not isinstance(node, dict):
        problems.append(f"{where} is {type(node).__name__}, not a mapping")
        return
    for key, value in node.items():
        if value is not None and not _number(value) and not isinstance(value, (dict, list)):
            problems.append(f"{where}.{key} is {value!r:.40}, not a number")
        elif finite and _number(value) and not math.isfinite(value):
            problems.append(f"{where}.{key} is {value!r}, not a finite number")


def _plan(plan: Any, problems: list[str]) -> None:
    if plan is None:
        return
    if not isinstance(plan, dict):
        problems.append(f"plan is {type(plan).__name__}, not a mapping")
        return
    if not _count(plan.get("tp_size")):
        problems.append(f"plan.tp_size is {plan.get('tp_size')!r:.40}, not a count")
    for key in ("option", "runtime"):
        if plan.get(key) is not None and not isinstance(plan.get(key), str):
            problems.append(f"plan.{key} is {plan.get(key)!r:.40}, not text")
    shapes = plan.get("warmup_shapes")
    if shapes is not None and not (isinstance(shapes, list) and all(
            isinstance(s, list) and len(s) == 3 and all(_count(x) for x in s) for s in shapes)):
        problems.append(f"plan.warmup_shapes is {shapes!r:.60}, not [[prompt_len, new_tokens, "
                        "batch_size], ...]")
    args = plan.get("engine_args")
    if args is not None and not isinstance(args, dict):
        problems.append(f"plan.engine_args is {type(args).__name__}, not a mapping")
    elif args:
        for key in ("max_model_len", "max_num_seqs"):
            if args.get(key) is not None and not _count(args.get(key)):
                problems.append(f"plan.engine_args.{key} is {args.get(key)!r:.40}, not a count")


def _bench(bench: Any, problems: list[str]) -> None:
    if bench is None:
        return
    if not isinstance(bench, dict):
        problems.append(f"bench is {type(bench).__name__}, not a mapping")
        return
    _numbers(bench.get("metrics"), "bench.metrics", problems)
    if bench.get("server_start_s") is not None and not _number(bench["server_start_s"]):
        problems.append(f"bench.server_start_s is {bench['server_start_s']!r:.40}, not a number")
    for key, kind in (("workload", dict), ("runs", list), ("spread", dict)):
        if bench.get(key) is not None and not isinstance(bench[key], kind):
            problems.append(f"bench.{key} is {type(bench[key]).__name__}, not a {kind.__name__}")
    workload = bench.get("workload") if isinstance(bench.get("workload"), dict) else {}
    if workload.get("concurrency") is not None and not _count(workload["concurrency"]):
        problems.append(f"bench.workload.concurrency is {workload['concurrency']!r:.40}")
    spread = bench.get("spread") if isinstance(bench.get("spread"), dict) else {}
    e2el = spread.get("e2el_mean_ms")
    if e2el is not None and not (isinstance(e2el, dict) and all(
            e2el.get(k) is None or _number(e2el.get(k)) for k in ("min", "max"))):
        problems.append("bench.spread.e2el_mean_ms is not {min: number, max: number}")


def problems_of(data: dict[str, Any]) -> list[str]:
    """What in a result record has a type the report cannot read (empty: all fine)."""
    problems: list[str] = []
    job = data.get("job")
    num = job.get("num")
    if num is not None and not _count(num):
        problems.append(f"job.num is {num!r:.40}, not a job number")
    overrides = job.get("overrides")
    if overrides is not None and not (isinstance(overrides, list)
                                      and all(isinstance(o, str) for o in overrides)):
        problems.append(f"job.overrides is {overrides!r:.60}, not a list of overrides")
    outcome = data.get("outcome")
    if outcome not in OUTCOMES:
        problems.append(f"outcome is {outcome!r:.40}; valid: {', '.join(OUTCOMES)}")
    if data.get("error") is not None and not isinstance(data["error"], str):
        problems.append(f"error is {type(data['error']).__name__}, not text")
    _plan(data.get("plan"), problems)
    _numbers(data.get("timings"), "timings", problems, finite=True)
    _bench(data.get("bench"), problems)
    return problems


def checked(data: dict[str, Any], job_number: int | None) -> dict[str, Any]:
    """The record itself when the report can read it, else its job's failed record naming
    every problem (the job number is taken from its dir when the record's is unusable)."""
    problems = problems_of(data)
    if not problems:
        return data
    job = data["job"]
    overrides = job.get("overrides")
    return {"outcome": "failed",
            "job": {"num": job.get("num") if _count(job.get("num")) else job_number,
                    "dir": str(job.get("dir") if isinstance(job.get("dir"), str) else ""),
                    "overrides": overrides if isinstance(overrides, list) and all(
                        isinstance(o, str) for o in overrides) else []},
            "error": f"damaged result.json in {job.get('dir')}: " + "; ".join(problems)
                     + ". Fix: rerun the job (sweep.resume=true reruns points without an ok "
                       "result) or restore the file"}

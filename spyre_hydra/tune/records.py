"""The result.json records a tune reads, checked before anything is chosen or written.

A sweep writes these files itself, but a tune also reads dirs copied, merged or edited by
hand (`--from DIR`), and a chosen record's plan becomes a profile in the user's conf dir.
So every key the tune uses is checked for its type, and every problem of every file is
reported at once (TuneError, exit 2) before tune.md or a profile is written. A file that
is not JSON at all is already a failed job (spyre_hydra.sweep.results.read_result).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spyre_hydra.tune.slo import METRICS, TuneError


def _shown(value: Any) -> str:
    text = repr(value)  # repr: a control character never reaches the terminal raw
    return text if len(text) <= 60 else text[:57] + "..."


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _figure(value: Any) -> bool:
    """A metric as a bench job records it: a number >= 0 (NaN allowed: "not measured") or
    null; no latency or throughput is negative or infinite."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0 <= value < 1e300)


def _plan_problems(plan: Any) -> list[tuple[str, Any, str]]:
    if not isinstance(plan, Mapping):
        return [("plan", plan, "a mapping (the job's LaunchPlan)")]
    out = []
    if not isinstance(plan.get("option"), str) or not plan.get("option"):
        out.append(("plan.option", plan.get("option"), "the model option, a string"))
    if plan.get("runtime") not in ("cb", "static"):
        out.append(("plan.runtime", plan.get("runtime"), "cb or static"))
    if not _int(plan.get("tp_size")) or plan.get("tp_size") < 1:
        out.append(("plan.tp_size", plan.get("tp_size"), "a positive int"))
    shapes = plan.get("warmup_shapes")
    if shapes is not None and not (isinstance(shapes, list) and all(
            isinstance(s, list) and len(s) == 3 and all(_int(x) and x > 0 for x in s)
            for s in shapes)):
        out.append(("plan.warmup_shapes", shapes, "a list of [prompt_len, new_tokens, "
                                                  "batch_size] positive ints"))
    args = plan.get("engine_args")
    if args is not None and not isinstance(args, Mapping):
        out.append(("plan.engine_args", args, "a mapping"))
    elif plan.get("runtime") == "cb":
        for key in ("max_model_len", "max_num_seqs"):
            value = (args or {}).get(key)
            if not _int(value) or value < 1:
                out.append((f"plan.engine_args.{key}", value, "a positive int"))
    return out


def _bench_problems(bench: Any) -> list[tuple[str, Any, str]]:
    if bench is None:
        return []
    if not isinstance(bench, Mapping):
        return [("bench", bench, "a mapping (metrics, runs, workload)")]
    out = []
    for key in ("metrics", "workload"):
        if bench.get(key) is not None and not isinstance(bench[key], Mapping):
            out.append((f"bench.{key}", bench[key], "a mapping"))
    runs = bench.get("runs")
    if runs is not None and not (isinstance(runs, list) and all(isinstance(r, Mapping)
                                                                for r in runs)):
        out.append(("bench.runs", runs, "a list of mappings (one per repeat)"))
        runs = []
    tables = [("bench.metrics", bench.get("metrics"))] + [
        (f"bench.runs[{i}]", r) for i, r in enumerate(runs or [])]
    for where, table in tables:
        if isinstance(table, Mapping):
            out += [(f"{where}.{k}", table[k], "a number >= 0 or null") for k in METRICS
                    if k in table and not _figure(table[k])]
    return out


def record_problems(record: Mapping) -> list[tuple[str, Any, str]]:
    """(key, value, what it must be) for every key of one record the tune cannot use."""
    job = record.get("job", {})
    if not isinstance(job, Mapping):
        return [("job", job, "a mapping (num, overrides)")]
    out = []
    if "num" in job and not (_int(job["num"]) and job["num"] >= 0):
        out.append(("job.num", job["num"], "a job number, an int >= 0"))
    overrides = job.get("overrides")
    if overrides is not None and not (isinstance(overrides, list) and all(
            isinstance(o, str) for o in overrides)):
        out.append(("job.overrides", overrides, "a list of override strings"))
    outcome = record.get("outcome")
    if not isinstance(outcome, str):
        out.append(("outcome", outcome, "ok, failed or skipped"))
    if record.get("error") is not None and not isinstance(record["error"], str):
        out.append(("error", record["error"], "a string or null"))
    if outcome == "ok" or record.get("plan") is not None:
        out += _plan_problems(record.get("plan"))
    return out + _bench_problems(record.get("bench"))


def check_records(records: list[dict], files: list[Path], sweep_dir: Path) -> None:
    """TuneError listing every unusable key of every record (and repeated job numbers)."""
    lines, nums = [], {}
    for index, (record, path) in enumerate(zip(records, files)):
        for key, value, want in record_problems(record):
            lines.append(f"  - {path}: {key} is {_shown(value)}; it must be {want}")
        job = record.get("job") if isinstance(record.get("job"), Mapping) else {}
        num = job.get("num", index)
        if _int(num) and num in nums:
            lines.append(f"  - {path}: job.num {num} is also the job of {nums[num]}")
        nums.setdefault(num, path)
    if lines:
        raise TuneError(f"{sweep_dir} holds result.json files a tune cannot use "
                        f"({len(lines)} problem{'s' if len(lines) > 1 else ''}):\n" +
                        "\n".join(lines) + "\nFix: move those job dirs out of the sweep dir "
                        f"(sweep.resume=true hydra.sweep.dir={sweep_dir} with the sweep's "
                        "overrides runs them again); a sweep writes these files itself, so do "
                        "not edit them.")


__all__ = ["check_records", "record_problems"]

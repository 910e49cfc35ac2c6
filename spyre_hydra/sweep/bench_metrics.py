"""What a bench job records: vLLM's serving-benchmark result reduced to the summary's
columns, and the spread over repeats.

vLLM's `bench serve` result (and sendnn-bench's, which adds the Spyre per-request metrics)
holds `mean_ttft_ms`, `median_ttft_ms`, `p99_ttft_ms` and the same for tpot, itl and e2el,
plus `request_throughput` and `output_throughput`.
"""

from __future__ import annotations

import statistics
from typing import Any

LATENCIES = ("ttft", "tpot", "itl", "e2el")
STATS = (("mean", "mean"), ("p50", "median"), ("p99", "p99"))
THROUGHPUTS = ("request_throughput", "output_throughput")
#: Summary columns of a bench job.
BENCH_COLUMNS = ("concurrency", "server_start_s", "ttft_mean_ms", "ttft_p99_ms", "tpot_mean_ms", "itl_mean_ms",
                 "e2el_mean_ms", "e2el_p99_ms", "request_throughput", "output_throughput",
                 "repeats", "e2el_mean_ms_spread")


def metrics_of(result: dict[str, Any]) -> dict[str, Any]:
    """mean/p50/p99 (ms) of TTFT, TPOT, ITL and E2E latency, and the throughputs."""
    out: dict[str, Any] = {}
    for name in LATENCIES:
        for ours, theirs in STATS:
            value = result.get(f"{theirs}_{name}_ms")
            out[f"{name}_{ours}_ms"] = round(float(value), 3) if value is not None else None
    for name in THROUGHPUTS:
        value = result.get(name)
        out[name] = round(float(value), 4) if value is not None else None
    for name in ("completed", "failed", "total_output_tokens", "duration"):
        if name in result:
            out[name] = result[name]
    return out


def spread(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per metric over the repeats: min, max, and stdev (None for one run)."""
    out = {}
    for key in runs[0] if runs else []:
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        if len(values) == len(runs) and values:
            out[key] = {"min": min(values), "max": max(values),
                        "stdev": round(statistics.stdev(values), 4) if len(values) > 1 else None}
    return out


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The metrics of the repeats: each metric's median over the runs."""
    out = {}
    for key in runs[0] if runs else []:
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        out[key] = round(statistics.median(values), 4) if values else None
    return out


def bench_row(bench: dict[str, Any] | None) -> dict[str, Any]:
    """The summary columns of one job's `bench` record (empty cells when there is none)."""
    row = dict.fromkeys(BENCH_COLUMNS)
    if not isinstance(bench, dict):
        return row
    metrics = bench.get("metrics") or {}
    for key in BENCH_COLUMNS:
        if key in metrics:
            row[key] = metrics[key]
    row["server_start_s"] = bench.get("server_start_s")
    row["concurrency"] = (bench.get("workload") or {}).get("concurrency")
    row["repeats"] = len(bench.get("runs") or []) or None
    e2el = (bench.get("spread") or {}).get("e2el_mean_ms")
    if e2el and e2el.get("max") is not None:
        row["e2el_mean_ms_spread"] = round(e2el["max"] - e2el["min"], 3)
    return row

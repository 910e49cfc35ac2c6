"""The sweep's PNG plots: latency against prompt_len x batch per device, and the
throughput-latency Pareto front of a bench sweep. Drawn with matplotlib (Agg) into bytes
and written through the sweep's one writer."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from spyre_hydra.sweep.results import write_file

#: Row keys that make a sweep worth plotting.
PLOTTED = ("engine_start_s", "tokens_per_s", "e2el_mean_ms", "ttft_mean_ms")


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")  # no display on a cluster node; set before pyplot loads
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _save(fig, plt, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    write_file(path, buffer.getvalue())


def latency_plot(rows: list[dict[str, Any]], path: Path) -> str | None:
    """Per device: bench latencies (TTFT, E2E) or engine timings against prompt_len x batch."""
    plt = _pyplot()
    if plt is None:
        return "matplotlib is not installed (pip install 'spyre-hydra[sweep]'); no plot"
    bench = any(r.get("e2el_mean_ms") is not None for r in rows)
    metrics = ((("ttft_mean_ms", "TTFT mean (ms)"), ("e2el_mean_ms", "E2E latency mean (ms)"),
                ("tpot_mean_ms", "TPOT mean (ms)")) if bench else
               (("engine_start_s", "engine start (s)"), ("tokens_per_s", "tokens/s")))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.2))
    for ax, (key, label) in zip(axes, metrics):
        series: dict[str, list] = {}
        for r in rows:
            if r.get(key) is not None and r.get("prompt_len") and r.get("batch_size"):
                name = str(r["device"]) + (f" c={r['concurrency']}" if bench else "")
                series.setdefault(name, []).append(
                    (r["prompt_len"] * r["batch_size"], float(r[key])))
        for device, points in sorted(series.items()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=device)
        ax.set_xlabel("prompt_len x batch_size")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if series:
            ax.legend(title="device, concurrency" if bench else "device")
    fig.suptitle("spyre-launch sweep" + (" (serving benchmark)" if bench else ""))
    fig.tight_layout()
    _save(fig, plt, path)
    return None


def pareto_plot(rows: list[dict[str, Any]], path: Path) -> str | None:
    """Output-token throughput against E2E latency, the Pareto-optimal points joined."""
    points = [(float(r["e2el_mean_ms"]), float(r["output_throughput"]), r)
              for r in rows if r.get("e2el_mean_ms") is not None
              and r.get("output_throughput") is not None]
    if not points:
        return None if not any(r.get("e2el_mean_ms") for r in rows) else "no Pareto plot"
    plt = _pyplot()
    if plt is None:
        return "matplotlib is not installed; no Pareto plot"
    front, best = [], -1.0
    for latency, throughput, row in sorted(points, key=lambda p: (p[0], -p[1])):
        if throughput > best:
            front.append((latency, throughput))
            best = throughput
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for latency, throughput, row in points:
        ax.scatter(latency, throughput, color="tab:blue")
        ax.annotate(f"job {row.get('job')}", (latency, throughput), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.plot([f[0] for f in front], [f[1] for f in front], color="tab:red", marker="o",
            markerfacecolor="none", markersize=11, label="Pareto front (see summary.md)")
    ax.set_xlabel("E2E latency mean (ms)")
    ax.set_ylabel("output tokens/s")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(fig, plt, path)
    return None


#: Public names of the helpers, for reports drawn in the same style (spyre_hydra.tune).
pyplot, save_png = _pyplot, _save


def plot_functions():
    """(file name, function) of every plot a summary draws."""
    return [("summary.png", latency_plot), ("pareto.png", pareto_plot)]

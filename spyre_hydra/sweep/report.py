"""`spyre-hydra sweep-report DIR`: the summary table (CSV, Markdown) and plot of a sweep.

Built only from the job dirs' result.json files (and sweep.json for the list of points),
so it works on a finished sweep, on one still running, and on one that was interrupted:
points without a result are listed as missing, and a result.json that cannot be read is
its job's one "failed" row (with the parse error). For continuous batching the prompt_len and
batch_size columns hold max_model_len and max_num_seqs; for static batching, the largest
warmup shape's. Timings are the engine's: engine_start_s (on Spyre this includes compiling
and warming up the shapes, which happens while the engine starts), generate_s, tokens_per_s.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from spyre_hydra.errors import SpyreHydraError
from spyre_hydra.io.sanitize import csv_cell, printable
from spyre_hydra.sweep.bench_metrics import BENCH_COLUMNS, bench_row
from spyre_hydra.sweep.plots import PLOTTED, plot_functions
from spyre_hydra.sweep.preflight import Preflight, plural, point_label, short
from spyre_hydra.sweep.records import checked
from spyre_hydra.sweep.results import (
    read_manifest,
    read_result,
    read_results,
    result_files,
    write_file,
)

CSV_NAME, MD_NAME, PNG_NAME = "summary.csv", "summary.md", "summary.png"
COLUMNS = ("job", "point", "model", "device", "runtime", "prompt_len", "new_tokens",
           "batch_size", "outcome", "engine_start_s", "generate_s", "tokens_per_s",
           *BENCH_COLUMNS, "verified", "error")


def _row(data: dict[str, Any], varying=frozenset()) -> dict[str, Any]:
    plan = data.get("plan") or {}
    job = data.get("job") or {}
    shapes = plan.get("warmup_shapes") or []
    args = plan.get("engine_args") or {}
    if shapes:  # the largest shape sets the compiled sizes
        prompt, new = max(s[0] for s in shapes), max(s[1] for s in shapes)
        batch = max(s[2] for s in shapes)
    else:
        prompt, new, batch = args.get("max_model_len"), None, args.get("max_num_seqs")
    timings = data.get("timings") or {}
    chosen = dict(str(o).lstrip("+~").partition("=")[::2] for o in job.get("overrides") or [])
    return {
        "job": job.get("num"), "point": point_label(job.get("overrides") or [], varying),
        # a skipped or failed job has no plan: fall back on what its overrides chose
        "model": plan.get("option") or chosen.get("model"),
        "device": f"tp{plan['tp_size']}" if plan else chosen.get("device"),
        "runtime": plan.get("runtime") or chosen.get("runtime"), "prompt_len": prompt, "new_tokens": new,
        "batch_size": batch, "verified": plan.get("supported") if plan else None,
        "outcome": data.get("outcome"),
        "engine_start_s": timings.get("engine_start_s"), "generate_s": timings.get("generate_s"),
        "tokens_per_s": timings.get("tokens_per_s"),
        **bench_row(data.get("bench")),
        "error": short(data.get("error") or "", 200),
    }


def collect(sweep_dir: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Table rows for every point (missing ones included) and notes about the sweep."""
    # each record's types checked first: a damaged one is its job's failed row (records.py)
    results = [checked(read_result(p), int(p.parent.name) if p.parent.name.isdigit() else None)
               for p in result_files(sweep_dir)]
    manifest = read_manifest(sweep_dir)
    # the point column shows what differs between jobs, not the overrides they share
    planned = [str(p).split(" ") for p in (manifest or {}).get("points", [])]
    varying = Preflight(planned or [(r.get("job") or {}).get("overrides") or []
                                    for r in results]).varying()
    for result in results:  # e.g. a damaged result.json: its point is still the planned one
        job = result["job"]
        if not job.get("overrides") and isinstance(job.get("num"), int) \
                and 0 <= job["num"] < len(planned):
            job["overrides"] = planned[job["num"]]
    rows = [_row(r, varying) for r in results]
    notes = []
    if manifest:
        done = {r["job"] for r in rows}
        missing = [i for i in range(len(manifest["points"])) if i not in done]
        for index in missing:
            rows.append({**dict.fromkeys(COLUMNS), "job": index, "outcome": "missing",
                         "point": point_label(planned[index], varying), "error": ""})
        if missing:
            notes.append(f"partial sweep: {len(missing)} of "
                         f"{plural(len(manifest['points']), 'point')} "
                         f"{'has' if len(missing) == 1 else 'have'} no result.json "
                         f"({'job' if len(missing) == 1 else 'jobs'} "
                         f"{', '.join(map(str, missing))}).")
    rows.sort(key=lambda r: (r["job"] is None, r["job"] if r["job"] is not None else 0))
    counts = dict.fromkeys(("ok", "failed", "skipped", "missing"), 0)
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    notes.insert(0, ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no jobs")
    return rows, notes


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV text with a header line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    # csv_cell: a result.json value never runs as a spreadsheet formula
    writer.writerows({k: ("" if r.get(k) is None else csv_cell(r[k])) for k in COLUMNS}
                     for r in rows)
    return buffer.getvalue()


def to_markdown(rows: list[dict[str, Any]], notes: list[str]) -> str:
    """The rows as a Markdown table, notes underneath."""
    from spyre_hydra.io.tables import markdown

    table = markdown(COLUMNS, [[r.get(k) for k in COLUMNS] for r in rows])
    return "\n".join([table.rstrip("\n"), ""] + [f"- {printable(n)}" for n in notes]) + "\n"


def write_summary(sweep_dir: str | Path, with_plot: bool = True) -> dict[str, Any]:
    """Write summary.csv, summary.md and the plots into the sweep dir; returns what it did."""
    sweep_dir = Path(sweep_dir)
    rows, notes = collect(sweep_dir)
    write_file(sweep_dir / CSV_NAME, to_csv(rows))
    written = [sweep_dir / CSV_NAME, sweep_dir / MD_NAME]
    timed = any(r.get(k) is not None for r in rows for k in PLOTTED)
    if with_plot and timed:
        for name, draw in plot_functions():
            why = draw(rows, sweep_dir / name)
            if why is None:
                written.append(sweep_dir / name)
            else:
                notes.append(why)
    elif with_plot:
        notes.append("no plot: no job has engine or benchmark timings (plan-mode or failed jobs)")
    markdown = to_markdown(rows, notes)
    write_file(sweep_dir / MD_NAME, markdown)
    return {"rows": rows, "notes": notes, "markdown": markdown, "written": written}


def add_arguments(parser) -> None:
    """Arguments of `spyre-hydra sweep-report`."""
    parser.add_argument("sweep_dir", metavar="DIR",
                        help="a multirun dir (multirun/<date>/<time>) holding job dirs")
    parser.add_argument("--no-plot", action="store_true", help="write the table only")


def run(args) -> int:
    """Rebuild the summary of DIR and print the Markdown table."""
    sweep_dir = Path(args.sweep_dir)
    if not sweep_dir.is_dir():
        raise SpyreHydraError(f"sweep-report: {sweep_dir} is not a directory. Fix: pass the "
                              "multirun dir, e.g. multirun/2026-01-31/12-00-00.")
    if not read_results(sweep_dir) and read_manifest(sweep_dir) is None:
        raise SpyreHydraError(f"sweep-report: {sweep_dir} has no */result.json and no "
                              "sweep.json. Fix: pass the dir of a spyre-launch -m sweep.")
    summary = write_summary(sweep_dir, with_plot=not args.no_plot)
    print(summary["markdown"], end="")
    print("wrote " + ", ".join(str(p) for p in summary["written"]))
    return 0

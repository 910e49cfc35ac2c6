"""The tune report: tune.md (every point with its SLO verdict, the choices marked) and
tune.png (the Pareto front with the choices labelled, and the SLO's own metrics with the
region that meets it shaded), written into the sweep dir through the sweep's writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spyre_hydra.io.tables import markdown
from spyre_hydra.sweep.plots import pyplot, save_png
from spyre_hydra.sweep.points import varying_keys
from spyre_hydra.sweep.results import write_file
from spyre_hydra.tune.select import LATENCY, THROUGHPUT, Point, front, shown
from spyre_hydra.tune.slo import Term

MD_NAME, PNG_NAME = "tune.md", "tune.png"


def _num(value: Any) -> str:
    return "" if not isinstance(value, (int, float)) else f"{value:.4g}"


def rows(points: list[Point], terms: tuple[Term, ...], chosen: dict[str, Point]):
    """(head, rows) of the report table."""
    varying = varying_keys([p.overrides for p in points])
    marks: dict[int, list[str]] = {}
    for objective, point in chosen.items():
        marks.setdefault(point.job, []).append(objective)
    head = ["job", "point", "verified", "outcome",
            *[f"{t.metric} (median / worst)" for t in terms], "e2el_p50_ms", "output tok/s",
            "SLO", "chosen"]
    out = []
    for p in points:
        cells = [f"{_num(v.median)} / {_num(v.worst)}" for v in p.verdicts] or [""] * len(terms)
        verified = (p.plan or {}).get("supported")
        out.append([p.job, f"`{p.label(varying)}`",
                    "" if verified is None else ("yes" if verified else "no"), shown(p.outcome),
                    *cells, _num(p.value(LATENCY)), _num(p.value(THROUGHPUT)),
                    "pass" if p.meets else "fail: " + "; ".join(p.failures()),
                    ", ".join(f"**{m}**" for m in marks.get(p.job, []))])
    return head, out


def to_markdown(title: str, points, terms, chosen, notes: list[str], png: bool = True) -> str:
    head, body = rows(points, terms, chosen)
    return "\n".join([f"# {title}", "", markdown(head, body), ""] +
                     [f"- {n}" for n in notes] + ([
                         "", f"![tune]({PNG_NAME})"] if png else []) + [""])


def _scatter(ax, points, chosen, x, y, worst=None):
    """Every measured point: filled when it meets the SLO; the choices labelled."""
    labels: dict[int, list[str]] = {}
    for objective, point in chosen.items():
        labels.setdefault(point.job, []).append(objective)
    for p in points:
        vx, vy = (worst or {}).get((p.job, x), p.value(x)), (worst or {}).get((p.job, y),
                                                                            p.value(y))
        if vx is None or vy is None:
            continue
        ax.scatter(vx, vy, color="tab:green" if p.meets else "tab:gray",
                   facecolors=None if p.meets else "none", zorder=3)
        text = f"job {p.job}" + (": " + ", ".join(labels[p.job]) if p.job in labels else "")
        ax.annotate(text, (vx, vy), fontsize=8, xytext=(4, 4), textcoords="offset points",
                    fontweight="bold" if p.job in labels else "normal")


def _shade(ax, terms, x, y) -> bool:
    """Shade the part of the axes where the SLO's terms on x and y hold."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lo_x, hi_x, lo_y, hi_y = x0, x1, y0, y1
    hit = False
    for t in terms:
        if t.metric == x:
            lo_x, hi_x = (lo_x, min(hi_x, t.bound)) if t.lower_is_better else (
                max(lo_x, t.bound), hi_x)
            hit = True
        elif t.metric == y:
            lo_y, hi_y = (lo_y, min(hi_y, t.bound)) if t.lower_is_better else (
                max(lo_y, t.bound), hi_y)
            hit = True
    if hit and lo_x < hi_x and lo_y < hi_y:
        ax.fill_between([lo_x, hi_x], lo_y, hi_y, color="tab:green", alpha=0.12,
                        label="meets the SLO")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    return hit


def _pad(ax, terms, x, y) -> None:
    """Make room for the bounds so the shaded region is visible."""
    for t in terms:
        if t.metric == x:
            lo, hi = ax.get_xlim()
            ax.set_xlim(min(lo, 0), max(hi, t.bound * 1.15))
        if t.metric == y:
            lo, hi = ax.get_ylim()
            ax.set_ylim(min(lo, 0), max(hi, t.bound * 1.15))


def plot(points: list[Point], terms: tuple[Term, ...], chosen: dict, path: Path) -> str | None:
    """Write tune.png; a note instead when matplotlib is missing or nothing was measured."""
    plt = pyplot()
    if plt is None:
        return "matplotlib is not installed (pip install 'spyre-hydra[sweep]'); no tune.png"
    if not any(p.measured for p in points):
        return "no point was measured; no tune.png"
    slo_x = terms[0].metric
    slo_y = terms[1].metric if len(terms) > 1 else THROUGHPUT
    worst = {(p.job, v.term.metric): v.worst for p in points for v in p.verdicts
             if isinstance(v.worst, (int, float))}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.6))
    line = front([p for p in points if p.measured])
    left.plot([p.value(LATENCY) for p in line], [p.value(THROUGHPUT) for p in line],
              color="tab:red", alpha=0.6, label="Pareto front")
    _scatter(left, points, chosen, LATENCY, THROUGHPUT)
    _pad(left, terms, LATENCY, THROUGHPUT)
    _shade(left, terms, LATENCY, THROUGHPUT)
    left.set_xlabel("E2E latency p50 (ms)")
    left.set_ylabel("output tokens/s")
    left.set_title("throughput against latency")
    _scatter(right, points, chosen, slo_x, slo_y, worst)
    _pad(right, terms, slo_x, slo_y)
    _shade(right, terms, slo_x, slo_y)
    right.set_xlabel(f"{slo_x} (worst repeat)")
    right.set_ylabel(f"{slo_y} (worst repeat)" if slo_y != THROUGHPUT else "output tokens/s")
    right.set_title("SLO: " + ", ".join(str(t) for t in terms))
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # matplotlib warns about an empty legend
            ax.legend(loc="best", fontsize=8)
    fig.suptitle("spyre-hydra tune (green: meets the SLO on every repeat)")
    fig.tight_layout()
    save_png(fig, plt, path)
    return None


def write_report(sweep_dir: Path, title: str, points, terms, chosen, notes) -> list[Path]:
    """tune.md and tune.png in the sweep dir; returns the files written."""
    written = []
    why = plot(points, terms, chosen, sweep_dir / PNG_NAME)
    if why is None:
        written.append(sweep_dir / PNG_NAME)
    else:
        notes = [*notes, why]
    text = to_markdown(title, points, terms, chosen, notes, png=why is None)
    write_file(sweep_dir / MD_NAME, text)
    return [sweep_dir / MD_NAME, *written]


__all__ = ["MD_NAME", "PNG_NAME", "plot", "rows", "to_markdown", "write_report"]

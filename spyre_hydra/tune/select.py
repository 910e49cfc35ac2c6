"""Choose among a bench sweep's points: the best per objective of those that meet the SLO.

    throughput  the highest output tokens/s (median over repeats)
    latency     the lowest E2E latency p50 (median over repeats)
    balanced    the knee of the Pareto front (E2E p50 down, output tokens/s up): the front
                point farthest above the line joining the front's two ends, both axes scaled
                to the front's range

Ties go to the better other metric, then to the lower job number, so a choice never depends
on the order results are read in. Timing-free: it reads result.json records only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from spyre_hydra.sweep.preflight import point_label
from spyre_hydra.tune.slo import Term, Verdict, _number, judge

OBJECTIVES = ("throughput", "latency", "balanced")
THROUGHPUT, LATENCY = "output_throughput", "e2el_p50_ms"


@dataclass
class Point:
    """One job of the sweep as the tune sees it."""

    job: int
    overrides: list[str]
    outcome: str
    plan: dict | None
    median: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)
    workload: dict = field(default_factory=dict)
    error: str = ""
    verdicts: list = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return self.outcome == "ok" and bool(self.median)

    @property
    def meets(self) -> bool:
        return self.measured and all(v.ok for v in self.verdicts)

    def failures(self) -> list[str]:
        """Why the point misses the SLO (a failed or unmeasured job says so)."""
        if not self.measured:
            return [shown(f"not measured ({self.outcome}"
                          f"{': ' + self.error if self.error else ''})")]
        return [v.why() for v in self.verdicts if not v.ok]

    def value(self, metric: str) -> float | None:
        return _number(self.median.get(metric))

    def label(self, varying=frozenset()) -> str:
        return shown(point_label(self.overrides, varying))


def shown(text: str) -> str:
    """`text` safe to print on a terminal or in tune.md: a control character (an escape
    sequence in an edited result.json) appears as its Python escape, never raw."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


def points_of(records: list[dict]) -> list[Point]:
    """The tune's view of a sweep's result.json records (checked with
    spyre_hydra.tune.records first), in job order."""
    out = []
    for index, record in enumerate(records):
        job = record.get("job") or {}
        bench = record.get("bench") if isinstance(record.get("bench"), dict) else {}
        num = job.get("num")
        out.append(Point(int(num) if isinstance(num, int) else index,
                         [str(o) for o in job.get("overrides") or []],
                         str(record.get("outcome") or "failed"), record.get("plan"),
                         dict(bench.get("metrics") or {}),
                         [r for r in bench.get("runs") or [] if isinstance(r, dict)],
                         dict(bench.get("workload") or {}), str(record.get("error") or "")))
    return sorted(out, key=lambda p: p.job)


def evaluate(points: list[Point], terms: tuple[Term, ...]) -> list[Point]:
    """Give every measured point its verdict on each term."""
    for point in points:
        point.verdicts = judge(terms, point.median, point.runs) if point.measured else []
    return points


def _best(points: list[Point], metric: str, other: str, higher: bool) -> Point | None:
    scored = [p for p in points if p.value(metric) is not None]
    if not scored:
        return None
    sign = -1 if higher else 1

    def key(p: Point):
        second = p.value(other)
        # the other metric breaks ties the other way round (throughput up, latency down)
        second = math.inf if second is None else (second if higher else -second)
        return (sign * p.value(metric), second, p.job)
    return min(scored, key=key)


def front(points: list[Point]) -> list[Point]:
    """The Pareto-optimal points (no other point has lower E2E p50 and higher tokens/s),
    by latency."""
    scored = [p for p in points if p.value(LATENCY) is not None
              and p.value(THROUGHPUT) is not None]

    def dominated(p: Point) -> bool:
        return any(q.value(LATENCY) <= p.value(LATENCY) and
                   q.value(THROUGHPUT) >= p.value(THROUGHPUT) and
                   (q.value(LATENCY), q.value(THROUGHPUT)) != (p.value(LATENCY),
                                                                p.value(THROUGHPUT))
                   for q in scored)
    return sorted((p for p in scored if not dominated(p)),
                  key=lambda p: (p.value(LATENCY), -p.value(THROUGHPUT), p.job))


def knee(points: list[Point]) -> Point | None:
    """The balanced choice: the front point farthest above the line joining its ends."""
    line = front(points)
    if len(line) <= 2:  # no bend: the lower-latency end (an end sits on the line itself)
        return line[0] if line else None
    lat = [p.value(LATENCY) for p in line]
    thr = [p.value(THROUGHPUT) for p in line]
    span_l, span_t = (max(lat) - min(lat)) or 1.0, (max(thr) - min(thr)) or 1.0

    def lift(p: Point) -> float:
        return (p.value(THROUGHPUT) - min(thr)) / span_t - (p.value(LATENCY) - min(lat)) / span_l
    return min(line, key=lambda p: (-round(lift(p), 12), p.value(LATENCY), p.job))


def choose(points: list[Point], objectives=OBJECTIVES) -> dict[str, Point]:
    """objective -> the chosen point, among the points that meet the SLO."""
    ok = [p for p in points if p.meets]
    picks = {"throughput": lambda: _best(ok, THROUGHPUT, LATENCY, True),
             "latency": lambda: _best(ok, LATENCY, THROUGHPUT, False),
             "balanced": lambda: knee(ok)}
    out = {}
    for objective in objectives:
        chosen = picks[objective]()
        if chosen is not None:
            out[objective] = chosen
    return out


def closest(points: list[Point]) -> Point | None:
    """The measured point that misses the SLO by the least (summed relative excess of the
    median or worst value, whichever is farther), or None when nothing was measured."""
    def miss(p: Point) -> float:
        return sum(max(v.term.excess(v.median), v.term.excess(v.worst)) for v in p.verdicts)
    measured = [p for p in points if p.measured]
    return min(measured, key=lambda p: (miss(p), p.job)) if measured else None


def describe_miss(point: Point, varying=frozenset()) -> str:
    """`job 2 (runtime.warmup_shapes=[[128,8,2]]): ttft_p99_ms: 653.8 > 500`."""
    return f"job {point.job} ({point.label(varying)}): " + "; ".join(point.failures())


def verdicts_table(verdicts: list[Verdict]) -> dict[str, Any]:
    """metric -> {median, worst} for a profile's evidence."""
    return {v.term.metric: {"median": v.median, "worst": v.worst} for v in verdicts}


__all__ = ["OBJECTIVES", "Point", "choose", "closest", "describe_miss", "evaluate", "front",
           "knee", "points_of"]

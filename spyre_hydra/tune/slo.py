"""A service-level objective: `ttft_p99_ms<=500,tpot_mean_ms<=50`, and how a point meets it.

Each term names one metric a bench job records (spyre_hydra.sweep.bench_metrics: TTFT,
TPOT, ITL and E2E latency as mean/p50/p99 in ms, request and output-token throughput), an
operator (<=, <, >=, >) and a number. A point meets the SLO when every term holds on its
median over the repeats *and* on its worst repeat, so a point that passes once and fails
once does not pass. A missing or NaN value never meets a term.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from dataclasses import dataclass
from typing import Any

from spyre_hydra.errors import SpyreHydraError
from spyre_hydra.sweep.bench_metrics import LATENCIES, STATS, THROUGHPUTS

#: Every metric an SLO term may name.
METRICS = tuple(f"{name}_{ours}_ms" for name in LATENCIES for ours, _ in STATS) + THROUGHPUTS
OPERATORS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_TERM = re.compile(r"\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>|==|=)\s*(\S*)\s*")
#: A plain decimal bound: no hex, no underscores, no inf/nan (float() takes all of those).
_NUMBER = re.compile(r"[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
EXAMPLE = "--slo 'ttft_p99_ms<=500,tpot_mean_ms<=50'"


class TuneError(SpyreHydraError):
    """Bad input to `spyre-hydra tune` (an SLO, an objective, a sweep dir)."""


class NoPointMeetsError(TuneError):
    """Measured, but no point meets the SLO on every repeat (exit 1, the closest named)."""

    exit_code = 1


@dataclass(frozen=True)
class Term:
    """One SLO term: metric, operator, bound."""

    metric: str
    op: str
    bound: float

    @property
    def lower_is_better(self) -> bool:
        return self.op in ("<=", "<")

    def holds(self, value: Any) -> bool:
        return _number(value) is not None and OPERATORS[self.op](float(value), self.bound)

    def worst(self, values: list[Any]) -> Any:
        """The repeat's value that is hardest on this term (None/NaN first)."""
        bad = [v for v in values if _number(v) is None]
        if bad or not values:
            return bad[0] if bad else None
        return max(values) if self.lower_is_better else min(values)

    def excess(self, value: Any) -> float:
        """How far `value` misses the bound, relative to it (0 when it holds)."""
        if _number(value) is None:
            return math.inf
        if self.holds(value):
            return 0.0
        scale = abs(self.bound) or 1.0
        return abs(float(value) - self.bound) / scale

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"


def _number(value: Any) -> float | None:
    """A measured figure as a float; None for a missing, NaN, infinite or negative value
    (no latency or throughput is negative: such a figure is not a measurement)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range (an edited result.json)
        return None
    return number if math.isfinite(number) and number >= 0 else None


def parse_slo(text: str) -> tuple[Term, ...]:
    """The terms of an SLO text, or TuneError naming the term, the value and the fix."""
    terms = []
    if not str(text or "").strip():
        raise TuneError(f"--slo is empty. Fix: {EXAMPLE}; metrics: {', '.join(METRICS)}.")
    for raw in str(text).split(","):
        match = _TERM.fullmatch(raw)
        if not match:
            raise TuneError(f"--slo term {raw.strip()!r} is not <metric><op><number>. Valid "
                            f"operators: {', '.join(OPERATORS)}. Fix: {EXAMPLE}.")
        metric, op, value = match.groups()
        if metric not in METRICS:
            hint = difflib.get_close_matches(metric, METRICS, n=1)
            raise TuneError(
                f"--slo term {raw.strip()!r}: unknown metric {metric!r}." +
                (f" Did you mean {hint[0]!r}?" if hint else "") +
                f" Valid metrics: {', '.join(METRICS)}. Fix: --slo "
                f"'{(hint[0] if hint else 'ttft_p99_ms')}{op}{value}'.")
        if op not in OPERATORS:
            number = value.lstrip("<>=") or "500"  # `=<500` meant <=500
            raise TuneError(f"--slo term {raw.strip()!r}: operator {op!r} is not supported. "
                            f"Valid operators: {', '.join(OPERATORS)}. Fix: --slo "
                            f"'{metric}<={number}'.")
        bound = float(value) if _NUMBER.fullmatch(value) else math.nan
        if value.startswith("-") and _NUMBER.fullmatch(value[1:]):
            raise TuneError(f"--slo term {raw.strip()!r}: {value!r} is negative, and no "
                            f"measured latency or throughput is. Fix: --slo '{metric}{op}"
                            f"{value[1:]}', or drop the term.")
        if not math.isfinite(bound):
            raise TuneError(f"--slo term {raw.strip()!r}: {value!r} is not a finite number. "
                            f"Fix: --slo '{metric}{op}500' (milliseconds for *_ms, per second "
                            "for throughputs).")
        same = [t for t in terms if t.metric == metric]
        if same:  # two bounds on one metric: a typo, or a range that is better said once
            raise TuneError(f"--slo names {metric} twice ('{same[0]!s}' and {raw.strip()!r}); "
                            f"each metric takes one bound. Fix: keep one of them, e.g. --slo "
                            f"'{same[0]!s}'.")
        terms.append(Term(metric, op, bound))
    return tuple(terms)


def slo_text(terms: tuple[Term, ...]) -> str:
    """The SLO in its canonical form (what profiles record)."""
    return ",".join(str(t) for t in terms)


@dataclass(frozen=True)
class Verdict:
    """One term on one point: its median, its worst repeat, and whether both hold."""

    term: Term
    median: Any
    worst: Any
    repeat: int | None  # 1-based repeat of the worst value, when the repeats disagree
    repeats: int

    @property
    def ok(self) -> bool:
        return self.term.holds(self.median) and self.term.holds(self.worst)

    def why(self) -> str:
        """`ttft_p99_ms: worst 612.4 > 500 (repeat 2 of 3)`, for a failed term."""
        t = self.term
        if _number(self.median) is None or _number(self.worst) is None:
            value = self.worst if _number(self.median) is not None else self.median
            return f"{t.metric}: {'missing' if value is None else value} (not measured)"
        which = self.median if not t.holds(self.median) else self.worst
        what = "median" if which is self.median and self.repeats > 1 else (
            "worst" if self.repeats > 1 else "")
        flip = {"<=": ">", "<": ">=", ">=": "<", ">": "<="}[t.op]
        where = (f" (repeat {self.repeat} of {self.repeats})" if what == "worst" and
                 self.repeat else "")
        return f"{t.metric}: {(what + ' ') if what else ''}{which:g} {flip} {t.bound:g}{where}"


def judge(terms: tuple[Term, ...], median: dict, runs: list[dict]) -> list[Verdict]:
    """Each term on a point's median metrics and on each of its repeats."""
    out = []
    runs = runs or [median]
    for term in terms:
        values = [r.get(term.metric) for r in runs]
        worst = term.worst(values)
        repeat = next((i + 1 for i, v in enumerate(values) if v is worst or v == worst), None)
        out.append(Verdict(term, median.get(term.metric), worst,
                           repeat if len(values) > 1 else None, len(values)))
    return out


__all__ = ["METRICS", "NoPointMeetsError", "Term", "TuneError", "Verdict", "judge", "parse_slo", "slo_text"]

"""The tune's SLO parsing and selection on recorded result.json records (no timing): ties,
NaN, missing metrics, a single point, repeats that disagree, the knee, the closest miss."""

from __future__ import annotations

import math

import pytest

from spyre_hydra.tune.command import objectives
from spyre_hydra.tune.select import choose, closest, describe_miss, evaluate, front, points_of
from spyre_hydra.tune.slo import TuneError, parse_slo, slo_text

SLO = parse_slo("ttft_p99_ms<=500,tpot_mean_ms<=50")


def record(job, ttft=100.0, tpot=10.0, e2el=200.0, thr=100.0, runs=None, outcome="ok",
           shape="[[64,8,1]]"):
    metrics = {"ttft_p99_ms": ttft, "tpot_mean_ms": tpot, "e2el_p50_ms": e2el,
               "output_throughput": thr}
    return {"job": {"num": job, "overrides": [f"runtime.warmup_shapes={shape}",
                                              f"bench.max_concurrency={job}"]},
            "outcome": outcome, "error": None if outcome == "ok" else "boom",
            "plan": {"option": "tiny_granite", "mode": "bench", "supported": True},
            "bench": {"metrics": metrics, "runs": runs or [metrics]} if outcome == "ok"
            else None}


def judged(*records):
    return evaluate(points_of(list(records)), SLO)


def test_slo_text_round_trips_and_orders_terms():
    assert slo_text(parse_slo(" ttft_p99_ms <= 500 , output_throughput>10.5")) == \
        "ttft_p99_ms<=500,output_throughput>10.5"


@pytest.mark.parametrize("text,match", [
    ("ttft_p99<=500", r"unknown metric 'ttft_p99'\. Did you mean 'ttft_p99_ms'\?.*Fix: --slo "
                      r"'ttft_p99_ms<=500'"),
    ("ttft_p99_ms==500", r"operator '==' is not supported\. Valid operators: <=, <, >=, >\. "
                         r"Fix: --slo 'ttft_p99_ms<=500'"),
    ("ttft_p99_ms<=fast", r"'fast' is not a finite number\. Fix:"),
    ("ttft_p99_ms<=nan", r"'nan' is not a finite number"),
    ("ttft_p99_ms 500", r"term 'ttft_p99_ms 500' is not <metric><op><number>"),
    ("", r"--slo is empty\. Fix:"),
])
def test_bad_slo_names_term_value_and_fix(text, match):
    with pytest.raises(TuneError, match=match):
        parse_slo(text)


def test_bad_objective_lists_the_valid_ones():
    assert objectives("latency, throughput") == ("latency", "throughput")
    with pytest.raises(TuneError, match=r"'fastest' is not an objective\. Valid: throughput, "
                                        r"latency, balanced"):
        objectives("latency,fastest")


def test_single_point_meeting_the_slo_wins_every_objective():
    points = judged(record(0))
    chosen = choose(points)
    assert {k: p.job for k, p in chosen.items()} == {"throughput": 0, "latency": 0,
                                                     "balanced": 0}


def test_throughput_tie_goes_to_lower_latency_then_lower_job():
    points = judged(record(0, thr=50, e2el=300), record(1, thr=50, e2el=200),
                    record(2, thr=50, e2el=200), record(3, thr=40, e2el=100))
    chosen = choose(points)
    assert chosen["throughput"].job == 1
    assert chosen["latency"].job == 3


def test_latency_tie_goes_to_higher_throughput():
    points = judged(record(0, e2el=100, thr=10), record(1, e2el=100, thr=20))
    assert choose(points, ("latency",))["latency"].job == 1


def test_nan_and_missing_metrics_never_meet_the_slo():
    nan = record(0, ttft=math.nan)
    missing = record(1)
    del missing["bench"]["metrics"]["tpot_mean_ms"]
    missing["bench"]["runs"] = [missing["bench"]["metrics"]]
    points = judged(nan, missing, record(2, thr=1))
    assert [p.meets for p in points] == [False, False, True]
    assert points[0].failures() == ["ttft_p99_ms: nan (not measured)"]
    assert points[1].failures() == ["tpot_mean_ms: missing (not measured)"]
    assert choose(points)["throughput"].job == 2


def test_an_objective_metric_that_is_nan_drops_the_point_from_that_objective():
    points = judged(record(0, thr=math.nan, e2el=10), record(1, thr=5, e2el=50))
    chosen = choose(points)
    assert chosen["throughput"].job == 1 and chosen["latency"].job == 0


def test_repeats_that_disagree_fail_on_the_worst_repeat():
    good = {"ttft_p99_ms": 100, "tpot_mean_ms": 10, "e2el_p50_ms": 100,
            "output_throughput": 90}
    bad = {**good, "ttft_p99_ms": 700}
    flaky = record(0, runs=[good, bad, good])  # median 100 passes, repeat 2 does not
    points = judged(flaky, record(1, thr=10))
    assert not points[0].meets
    assert points[0].failures() == ["ttft_p99_ms: worst 700 > 500 (repeat 2 of 3)"]
    assert choose(points)["throughput"].job == 1


def test_median_that_fails_is_named_as_the_median():
    runs = [{"ttft_p99_ms": v, "tpot_mean_ms": 1} for v in (600, 650, 400)]
    points = judged(record(0, ttft=600, runs=runs))
    assert points[0].failures() == ["ttft_p99_ms: median 600 > 500"]


def test_failed_jobs_are_listed_but_never_chosen():
    points = judged(record(0, outcome="failed"), record(1))
    assert points[0].failures() == ["not measured (failed: boom)"]
    assert choose(points)["latency"].job == 1


def test_balanced_is_the_knee_of_the_front():
    # front: (100, 10) (150, 80) (400, 100); job 3 is dominated by job 1
    points = judged(record(0, e2el=100, thr=10), record(1, e2el=150, thr=80),
                    record(2, e2el=400, thr=100), record(3, e2el=160, thr=70))
    assert [p.job for p in front(points)] == [0, 1, 2]
    chosen = choose(points)
    assert (chosen["latency"].job, chosen["balanced"].job, chosen["throughput"].job) == (0, 1, 2)


def test_balanced_on_a_two_point_front_takes_the_lower_latency_end():
    points = judged(record(0, e2el=300, thr=100), record(1, e2el=100, thr=10))
    assert choose(points, ("balanced",))["balanced"].job == 1


def test_closest_miss_is_the_smallest_relative_excess():
    points = judged(record(0, ttft=1000), record(1, ttft=510, tpot=55), record(2, ttft=600))
    assert choose(points) == {}
    near = closest(points)
    assert near.job == 1  # 2 % + 10 % beats 20 %
    assert describe_miss(near) == ("job 1 (runtime.warmup_shapes=[[64,8,1]] "
                                   "bench.max_concurrency=1): ttft_p99_ms: 510 > 500; "
                                   "tpot_mean_ms: 55 > 50")


def test_closest_is_none_when_nothing_was_measured():
    assert closest(judged(record(0, outcome="failed"))) is None

"""Sweep building blocks in-process: isolation callback, atomic results, report, labels."""

from __future__ import annotations

import json
import os
import sys

import pytest
from hydra.types import RunMode
from omegaconf import OmegaConf

from spyre_hydra.conftree.hydra_adapter import register_resolver
from spyre_hydra.sweep import isolation, progress, report
from spyre_hydra.sweep.job import _timings
from spyre_hydra.sweep.preflight import Preflight, point_label, refusal, short
from spyre_hydra.sweep.results import MANIFEST, read_results, write_json_atomic


def job_config(mode=RunMode.MULTIRUN, env_set=None):
    return OmegaConf.create({"hydra": {"mode": mode, "job": {"env_set": env_set or {}}}})


def test_isolation_restores_env_cwd_resolvers_and_registries(monkeypatch, tmp_path):
    from spyre_hydra.catalog import registry
    monkeypatch.setenv("SPYRE_SWEEP_USER_VAR", "user")
    monkeypatch.setenv("SPYRE_SWEEP_ENV_SET", "from-hydra")  # hydra.job.env_set, Hydra's own
    cwd = os.getcwd()
    callback = isolation.IsolationCallback()
    config = job_config(env_set={"SPYRE_SWEEP_ENV_SET": "from-hydra"})
    callback.on_multirun_start(config)
    callback.on_job_start(config)
    os.environ["SPYRE_SWEEP_JOB_VAR"] = "job"
    os.environ["SPYRE_SWEEP_USER_VAR"] = "changed by the job"
    del os.environ["SPYRE_SWEEP_ENV_SET"]  # as Hydra's env_override does before on_job_end
    register_resolver("spyre_sweep_test", lambda: 1)
    registry._registries[("marker",)] = object()
    os.chdir(tmp_path)
    try:
        callback.on_job_end(config)
    finally:
        os.chdir(cwd) if os.getcwd() != cwd else None
    assert "SPYRE_SWEEP_JOB_VAR" not in os.environ
    assert os.environ["SPYRE_SWEEP_USER_VAR"] == "user"
    assert "SPYRE_SWEEP_ENV_SET" not in os.environ  # not put back: Hydra owns it
    assert os.getcwd() == cwd
    assert not OmegaConf.has_resolver("spyre_sweep_test")
    assert registry._registries == {}


def test_isolation_does_nothing_in_a_single_run(monkeypatch):
    callback = isolation.IsolationCallback()
    config = job_config(mode=RunMode.RUN)
    callback.on_job_start(config)
    monkeypatch.setenv("SPYRE_SWEEP_SINGLE", "kept")
    callback.on_job_end(config)
    assert os.environ["SPYRE_SWEEP_SINGLE"] == "kept"


def test_apply_settings_never_overwrites():
    environ = {"A": "user"}
    applied, kept = isolation.apply_settings({"A": 1, "B": 2}, environ)
    assert (applied, kept, environ) == ({"B": "2"}, {"A": "user"}, {"A": "user", "B": "2"})


def test_env_difference_ignores_launcher_bookkeeping():
    base = {"HOME": "/h"}
    env = {"HOME": "/h", "SUBMITIT_JOB_ID": "1", "LOKY_PICKLER": "x", "FLEX_X": "1"}
    assert isolation.env_difference(env, base) == ["FLEX_X"]


def test_write_json_atomic_keeps_old_content_on_failure(tmp_path):
    target = tmp_path / "job" / "result.json"
    write_json_atomic(target, {"outcome": "ok"})

    class Unprintable:
        def __str__(self):
            raise RuntimeError("cannot serialize")

    with pytest.raises(RuntimeError, match="cannot serialize"):
        write_json_atomic(target, {"outcome": Unprintable()})
    assert json.loads(target.read_text()) == {"outcome": "ok"}
    # nothing but the file and the writer's manifest: no temp file left behind
    assert sorted(p.name for p in target.parent.iterdir()) == [".spyre_hydra_manifest.json",
                                                               "result.json"]


def test_read_results_orders_jobs_numerically_and_survives_a_damaged_file(tmp_path):
    for num in (10, 2):
        write_json_atomic(tmp_path / str(num) / "result.json", {"job": {"num": num},
                                                                "outcome": "ok"})
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "result.json").write_text("{not json")
    found = read_results(tmp_path)
    assert [r["job"].get("num") for r in found] == [2, 3, 10]  # the dir names the job
    assert found[1]["outcome"] == "failed" and "unreadable" in found[1]["error"]


def test_report_counts_a_damaged_result_once_as_failed_not_missing(tmp_path):
    points = [f"model=m device=tp{n}" for n in (1, 2, 4, 8)]
    write_json_atomic(tmp_path / MANIFEST, {"points": points, "skipped": {}})
    for num in (0, 1):
        write_json_atomic(tmp_path / str(num) / "result.json",
                          {"job": {"num": num, "overrides": points[num].split()},
                           "outcome": "ok"})
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "result.json").write_text("[1, 2")  # job 2 has none at all
    rows, notes = report.collect(tmp_path)
    assert [(r["job"], r["outcome"]) for r in rows] == [
        (0, "ok"), (1, "ok"), (2, "missing"), (3, "failed")]
    assert rows[3]["point"] == "device=tp8" and rows[3]["device"] == "tp8"
    assert "unreadable" in rows[3]["error"] and "Expecting" in rows[3]["error"]
    assert notes == ["2 ok, 1 failed, 1 missing",
                     "partial sweep: 1 of 4 points has no result.json (job 2)."]


def test_a_json_value_that_is_not_a_record_is_a_failed_job(tmp_path):
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "result.json").write_text("[]")
    (found,) = read_results(tmp_path)
    assert found["job"]["num"] == 0 and found["outcome"] == "failed"
    assert "not a sweep job record" in found["error"]


def test_progress_one_line_per_point_with_eta_and_skips_counted(capsys):
    tracker = progress.Progress(total=3, to_run=2, varying=frozenset({"x"}))
    tracker.report(1, "skipped", ["x=1", "y=0"], "does not support tp1. More.")
    tracker.report(0, "ok", ["x=0", "y=0"], seconds=0.5)
    tracker.report(0, "ok", ["x=0", "y=0"], seconds=0.5)  # reported once only
    tracker.report(2, "failed", ["x=2", "y=0"], "boom", seconds=0.25)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "spyre-launch: [1/3] skipped x=1: does not support tp1. More."
    assert lines[1].startswith("spyre-launch: [2/3] ok x=0 0.50s  (eta ")
    assert lines[1].endswith(", 0 failed)")
    assert lines[2].startswith("spyre-launch: [3/3] failed x=2 0.25s: boom  (eta 0s, 1 failed)")
    assert len(lines) == 3


def test_watcher_reports_each_expected_job_once(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "current", progress.Progress(3, 3, frozenset({"x"})))
    watcher = progress.Watcher(tmp_path, {0, 1, 2})
    write_json_atomic(tmp_path / "1" / "result.json",
                      {"job": {"num": 1, "overrides": ["x=1", "y=0"]}, "outcome": "failed",
                       "error": "boom. More text."})
    watcher.poll()
    write_json_atomic(tmp_path / "0" / "result.json",
                      {"job": {"num": 0, "overrides": ["x=0", "y=0"]}, "outcome": "ok"})
    watcher.poll()
    watcher.poll()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("  (eta")[0] for line in lines] == [
        "spyre-launch: [1/3] failed x=1: boom. More text.",
        "spyre-launch: [2/3] ok x=0"]
    assert watcher.expected == {2}


def test_refusal_one_line_per_point_and_plural():
    head = "m (org/m) does not support tp{} with warmup_shapes=[[64, 8, 1]]."
    tail = (" Supported at tp{}: a; b. All: a; b; c. Fix: choose one of those "
            "(runtime.warmup_shapes=... / device=...).")
    result = Preflight([["device=tp1"], ["device=tp2"], ["device=tp4"]],
                       bad={0: head.format(1) + tail.format(1),
                            2: head.format(4) + tail.format(4)},
                       broken={1: "ConfigCompositionException: no\n  such option"})
    assert str(refusal(result)).splitlines() == [
        "3 of 3 sweep points are invalid; no job was started:",
        "  - job 0 (device=tp1): " + head.format(1),
        "  - job 1 (device=tp2): ConfigCompositionException: no such option",
        "  - job 2 (device=tp4): " + head.format(4),
        "Supported by org/m:", "    a", "    b", "    c",
        ("Fix: use supported values (runtime.warmup_shapes=... / device=...) or drop those "
         "points; mode=plan shows each plan.")]
    one = str(refusal(Preflight([["device=tp1"]], bad={0: "bad."})))
    assert one.startswith("1 of 1 sweep point is invalid")


def _engine_result(num, tp, shape, start, tps):
    return {"job": {"num": num, "overrides": [f"device=tp{tp}"]}, "outcome": "ok",
            "plan": {"option": "tiny_granite", "tp_size": tp, "runtime": "static",
                     "warmup_shapes": [shape], "engine_args": {}},
            "timings": {"engine_start_s": start, "tokens_per_s": tps}}


def test_summary_table_and_plot_from_engine_timings(tmp_path):
    pytest.importorskip("matplotlib")  # the [sweep] extra; absent from .venv-hydra14
    write_json_atomic(tmp_path / "0" / "result.json",
                      _engine_result(0, 1, [64, 8, 1], 3.5, 40.0))
    write_json_atomic(tmp_path / "1" / "result.json",
                      _engine_result(1, 1, [128, 8, 2], 4.5, 70.0))
    summary = report.write_summary(tmp_path)
    rows = summary["rows"]
    assert [(r["prompt_len"], r["batch_size"], r["tokens_per_s"]) for r in rows] == [
        (64, 1, 40.0), (128, 2, 70.0)]
    assert summary["notes"] == ["2 ok"]
    assert (tmp_path / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "pareto.png").exists()  # no serving benchmark: no Pareto plot
    assert "| 1 | device=tp1 | tiny_granite | tp1 | static | 128 | 8 | 2 | ok | 4.5 |" in \
        (tmp_path / "summary.md").read_text()


def test_summary_without_matplotlib_writes_the_table_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    write_json_atomic(tmp_path / "0" / "result.json",
                      _engine_result(0, 1, [64, 8, 1], 3.5, 40.0))
    summary = report.write_summary(tmp_path)
    assert any("matplotlib is not installed" in n for n in summary["notes"])
    assert (tmp_path / "summary.csv").is_file() and (tmp_path / "summary.md").is_file()
    assert not (tmp_path / "summary.png").exists()


def test_labels_show_what_varies_and_errors_shorten():
    result = Preflight([["model=a", "device=tp1"], ["model=a", "device=tp4"]])
    assert result.describe(1) == "device=tp4"
    assert point_label(["x=1"]) == "x=1"
    text = "invalid configuration (1 problem):\n  - runtime.x: " + "y" * 300 + ". More."
    assert short(text).startswith("invalid configuration (1 problem): - runtime.x: yyy")
    assert len(short(text)) <= 160


def test_timings_from_run_mode_rows_or_dict():
    rows = [{"engine_start_s": 1.5, "generate_s": 0.5, "tokens_per_s": 8.0, "text": "x"}]
    assert _timings(rows) == {"engine_start_s": 1.5, "generate_s": 0.5, "tokens_per_s": 8.0}
    assert _timings({"timings": {"generate_s": 2.0, "warmup_s": 1.0}, "other": 1}) == \
        {"generate_s": 2.0}
    assert "warmup_s" not in report.COLUMNS and "generate_s" in report.COLUMNS
    assert _timings("not a dict") == {}


def test_a_bench_job_reads_backend_and_engine_args_from_the_plan_json(h):
    """A sweep job's plan crosses processes as its mode=plan JSON: the LaunchPlan rebuilt
    from it gives the bench its backend and engine args."""
    import json

    import spyre_hydra
    from spyre_hydra.sweep.bench import engine_side

    ckpt = h.hf_configs / "ibm-granite" / "granite-3.3-8b-instruct"
    data = json.loads(json.dumps(spyre_hydra.compose(
        ["model=granite_8b", "backend=eager", "mode=bench", f"model.path={ckpt}"]).to_dict()))
    plan = spyre_hydra.LaunchPlan.from_dict(data)
    backend, args = engine_side(plan)
    assert backend.name == "eager" and backend.spyre_plugin
    assert args["model"] == str(ckpt)
    assert args["served_model_name"] == "ibm-granite/granite-3.3-8b-instruct"
    assert args["max_model_len"] == data["engine_args"]["max_model_len"]

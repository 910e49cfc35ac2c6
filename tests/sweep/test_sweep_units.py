"""Sweep building blocks in-process: isolation callback, atomic results, report, labels."""

from __future__ import annotations

import json
import os
import sys

import pytest
from hydra.types import RunMode
from omegaconf import OmegaConf

from spyre_hydra.sweep import isolation, report
from spyre_hydra.sweep.job import _timings
from spyre_hydra.sweep.preflight import Preflight, point_label, short
from spyre_hydra.sweep.results import read_results, write_json_atomic


def job_config(mode=RunMode.MULTIRUN, env_set=None):
    return OmegaConf.create({"hydra": {"mode": mode, "job": {"env_set": env_set or {}}}})


def test_isolation_restores_env_cwd_resolvers_and_registries(monkeypatch, tmp_path):
    from spyre_hydra import registry

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
    OmegaConf.register_new_resolver("spyre_sweep_test", lambda: 1)
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
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]


def test_read_results_orders_jobs_numerically_and_survives_a_damaged_file(tmp_path):
    for num in (10, 2):
        write_json_atomic(tmp_path / str(num) / "result.json", {"job": {"num": num},
                                                                "outcome": "ok"})
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "result.json").write_text("{not json")
    found = read_results(tmp_path)
    assert [r["job"].get("num") for r in found] == [2, None, 10]
    assert found[1]["outcome"] == "failed" and "unreadable" in found[1]["error"]


def _engine_result(num, tp, shape, start, tps):
    return {"job": {"num": num, "overrides": [f"device=tp{tp}"]}, "outcome": "ok",
            "plan": {"option": "tiny_granite", "tp_size": tp, "runtime": "static",
                     "warmup_shapes": [shape], "engine_args": {}},
            "timings": {"engine_start_s": start, "tokens_per_s": tps}}


def test_summary_table_and_plot_from_engine_timings(tmp_path):
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
    assert _timings({"timings": {"warmup_s": 2.0}, "other": 1}) == {"warmup_s": 2.0}
    assert _timings("not a dict") == {}

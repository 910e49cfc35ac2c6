"""spyre-launch -m end to end (plan mode, basic launcher, each sweep in a fresh process)."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

TP4_SET = {"VLLM_DT_MAX_BATCH_TKV_LIMIT": "131072", "FLEX_HDMA_COLLSIZE": "33554432"}


def results(sweep_dir: Path) -> list[dict]:
    files = sorted(sweep_dir.glob("*/result.json"), key=lambda p: int(p.parent.name))
    return [json.loads(p.read_text()) for p in files]


def plans_in(text: str) -> list[dict]:
    """stdout of a plan-mode sweep: JSON Lines, one plan per line."""
    return [json.loads(line) for line in text.splitlines()]


def device_of(record: dict) -> str:
    return next(o for o in record["job"]["overrides"] if o.startswith("device=")).split("=")[1]


def test_16_points_each_job_sees_only_its_own_env(h, tmp_path):
    """tp1 and tp4 alternate, so a tp4 job's settings left in os.environ would show up in the
    next tp1 job (delta) and as "kept" user values in the next tp4 job."""
    out = tmp_path / "sweep"
    proc = h.run_cli(["-m", "model=granite_8b", "mode=plan", "max_tokens=1,2,3,4",
                      "sendnn_version=1.0.2,1.0.3", "device=tp1,tp4", f"hydra.sweep.dir={out}"],
                     tmp_path, FLEX_HDMA_P2PSIZE="1")
    assert proc.returncode == 0, proc.stderr
    records = results(out)
    assert len(records) == 16
    assert [device_of(r) for r in records] == ["tp1", "tp4"] * 8
    for record in records:
        assert record["outcome"] == "ok"
        env, planned = record["env"], record["plan"]["env"]
        # every setting of the plan is applied, except the one the user had set already
        assert env["set"] == {k: v for k, v in planned.items() if k != "FLEX_HDMA_P2PSIZE"}
        assert env["delta"] == sorted(env["set"])
        assert env["leaked"] == []
        if device_of(record) == "tp1":
            assert not set(TP4_SET) & set(env["set"]) and env["kept"] == {}
        else:
            assert TP4_SET.items() <= env["set"].items()
            assert env["kept"] == {"FLEX_HDMA_P2PSIZE": "1"}


def test_without_the_isolation_callback_env_leaks(h, tmp_path):
    """The counter-check: the same sweep without IsolationCallback hands tp4 values on."""
    out = tmp_path / "sweep"
    proc = h.run_cli(["-m", "model=granite_8b", "mode=plan", "max_tokens=1,2",
                      "device=tp1,tp4", f"hydra.sweep.dir={out}",
                      "~hydra.callbacks.spyre_isolation"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    first_tp4, second_tp4 = results(out)[1], results(out)[3]
    assert TP4_SET.items() <= first_tp4["env"]["set"].items()
    assert second_tp4["env"]["set"] == {}  # all "found already": left over from jobs 0-2
    assert set(TP4_SET) | {"FLEX_HDMA_P2PSIZE"} <= set(second_tp4["env"]["kept"])


def test_plan_mode_prints_every_plan_and_progress(h, tmp_path):
    out = tmp_path / "sweep"
    proc = h.run_cli(["-m", "model=granite_8b", "mode=plan", "device=tp1,tp2,tp4",
                      f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [p["tp_size"] for p in plans_in(proc.stdout)] == [1, 2, 4]
    assert "sweep of 3 points checked" in proc.stderr
    assert "[2/3] ok device=tp2 " in proc.stderr and "running" not in proc.stderr
    assert "sweep done: 3 ok" in proc.stderr
    assert proc.stderr.splitlines()[-1] == "spyre-launch: 3 ok, 0 failed, 0 skipped"


def test_one_point_sweep_says_point(h, tmp_path):
    proc = h.run_cli(["-m", "model=granite_8b", "mode=plan", "device=tp1",
                      f"hydra.sweep.dir={tmp_path / 'sweep'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "sweep of 1 point checked in" in proc.stderr


@pytest.mark.parametrize("devices,shapes,bad_jobs,fragments", [
    ("tp1,tp4", "[[2048,1024,16]],[[6144,2048,1]]", [1, 2],
     ["does not support tp1 with warmup_shapes=[[6144, 2048, 1]]",
      "does not support tp4 with warmup_shapes=[[2048, 1024, 16]]"]),
    ("tp1", "[[2048,1024,16]],[[100,8,1]]", [1], ["prompt_len 100 is not a multiple of 64"]),
    ("tp1", "[[2048,1024,16]],[[131072,64,1]]", [1],
     ["exceeds the model's max_position_embeddings 131072"]),
    ("tp1", "[[2048,1024,16]],[[2048,1024,0]],[[-64,8,1]]", [1, 2], ["batch_size > 0"]),
])
def test_invalid_point_refused_before_any_job(h, tmp_path, devices, shapes, bad_jobs,
                                              fragments):
    out = tmp_path / "sweep"
    proc = h.run_cli(["-m", "model=granite_8b", "runtime=static", "mode=plan",
                      f"device={devices}", f"runtime.warmup_shapes={shapes}",
                      f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 2
    assert not out.exists()  # not a single job dir, not even the sweep dir
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    total = len(devices.split(",")) * (shapes.count("]],") + 1)
    verb = "is" if len(bad_jobs) == 1 else "are"
    assert f"{len(bad_jobs)} of {total} sweep points {verb} invalid; no job was started" \
        in proc.stderr, proc.stderr
    assert [int(line.split()[2]) for line in proc.stderr.splitlines()
            if line.startswith("  - job ")] == bad_jobs
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr
    assert "sweep.skip_unsupported=true" in proc.stderr
    # each bad point on one line; the model's entries once at the end, not once per point
    supported = proc.stderr.count("Supported by ibm-granite/granite-3.3-8b-instruct:\n")
    assert supported <= 1
    assert len(proc.stderr.splitlines()) == 1 + len(bad_jobs) + 8 * supported + 1, proc.stderr
    assert "All:" not in proc.stderr and "Supported at" not in proc.stderr


def test_refusal_lists_supported_entries_once_per_model(h, tmp_path):
    proc = h.run_cli(["-m", "model=granite_8b", "runtime=static", "mode=plan",
                      "device=tp1,tp4",
                      "runtime.warmup_shapes=[[2048,1024,16]],[[6144,2048,1]],[[7168,1024,4]]",
                      f"hydra.sweep.dir={tmp_path / 's'}"], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[0] == "spyre-launch: error: 3 of 6 sweep points are invalid; no job was started:"
    assert [line.split(":")[0] for line in lines[1:4]] == [
        "  - job 1 (device=tp1 runtime.warmup_shapes=[[6144,2048,1]])",
        "  - job 2 (device=tp1 runtime.warmup_shapes=[[7168,1024,4]])",
        "  - job 3 (device=tp4 runtime.warmup_shapes=[[2048,1024,16]])"]
    assert lines[1].endswith("does not support tp1 with warmup_shapes=[[6144, 2048, 1]].")
    assert lines[4] == "Supported by ibm-granite/granite-3.3-8b-instruct:"
    assert lines[5:12] == ["    cb tp1 max_model_len=3072 max_num_seqs=16",
                           "    cb tp1 max_model_len=8192 max_num_seqs=4",
                           "    cb tp2 max_model_len=8192 max_num_seqs=4",
                           "    cb tp4 max_model_len=32768 max_num_seqs=32",
                           "    static tp1 shapes=[[2048, 1024, 16]]",
                           "    static tp4 shapes=[[6144, 2048, 1]]",
                           "    static tp4 shapes=[[7168, 1024, 4]]"]
    assert lines[12].startswith("Fix: use supported values (runtime.max_model_len=... ")
    assert len(lines) == 13


def test_mode_serve_cannot_be_swept(h, tmp_path):
    proc = h.run_cli(["-m", "mode=serve", "device=tp1,tp2", f"hydra.sweep.dir={tmp_path / 's'}"],
                     tmp_path)
    assert proc.returncode == 2
    assert "mode=serve cannot be swept" in proc.stderr


def test_skip_unsupported_runs_the_rest(h, tmp_path):
    out = tmp_path / "sweep"
    proc = h.run_cli(["-m", "model=granite_8b", "runtime=static", "mode=plan", "device=tp1,tp4",
                      "runtime.warmup_shapes=[[2048,1024,16]],[[6144,2048,1]]",
                      "sweep.skip_unsupported=true", f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [r["outcome"] for r in results(out)] == ["ok", "skipped", "skipped", "ok"]
    assert "does not support tp1" in results(out)[1]["error"]
    assert "2 will be skipped" in proc.stderr
    # skipped points alone do not fail the sweep
    assert proc.stderr.splitlines()[-1] == "spyre-launch: 2 ok, 0 failed, 2 skipped"
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["outcome"] for r in rows] == ["ok", "skipped", "skipped", "ok"]
    assert (out / "summary.md").read_text().count("| skipped |") == 2


def test_named_sweep_and_glob(h, tmp_path):
    out = tmp_path / "named"
    proc = h.run_cli(["-m", "+sweep=granite_8b_static", "mode=plan", f"hydra.sweep.dir={out}"],
                     tmp_path)
    assert proc.returncode == 0, proc.stderr
    ok = [r["plan"] for r in results(out) if r["outcome"] == "ok"]
    assert [(p["tp_size"], p["warmup_shapes"]) for p in ok] == [
        (1, [[2048, 1024, 16]]), (4, [[6144, 2048, 1]]), (4, [[7168, 1024, 4]])]
    out = tmp_path / "glob"
    proc = h.run_cli(["-m", "model=glob(granite_8b*)", "mode=plan", "device=tp4",
                      "sendnn_version=1.0.3", f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [r["plan"]["option"] for r in results(out)] == ["granite_8b", "granite_8b_fp8"]


def test_failing_point_is_recorded_and_the_others_run(h, tmp_path):
    """mode=config with a `vllm serve`-only engine arg (which the plan allows: a serve point
    takes it) fails in the engine process; the plan points before and after it still run."""
    out = tmp_path / "sweep"
    proc = h.run_cli(["-m", "model=tiny_granite", "mode=plan,config,plan",
                      "+engine_args.api_key=secret", "sendnn_version=none",
                      f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 1, proc.stderr  # after the summary: the sweep had a failure
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == "spyre-launch: 2 ok, 1 failed, 0 skipped"
    records = results(out)
    assert [r["outcome"] for r in records] == ["ok", "failed", "ok"]
    if importlib.util.find_spec("transformers") and importlib.util.find_spec("vllm"):
        assert "api_key" in records[1]["error"]  # without an engine it fails on the build
    assert (out / "1" / "engine.log").is_file()
    assert "[2/3] failed mode=config" in proc.stderr
    assert "1 failed)" in proc.stderr  # the eta part of the progress lines counts failures
    assert "1 failed" in (out / "summary.md").read_text()


def test_sweep_report_rebuilds_a_partial_sweep(h, tmp_path):
    out = tmp_path / "sweep"
    proc = h.run_cli(["-m", "model=granite_8b", "mode=plan", "device=tp1,tp2,tp4",
                      "max_tokens=1,2", f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (out / "summary.png").exists()  # plan mode: nothing to plot
    for name in ("summary.csv", "summary.md"):
        (out / name).unlink()
    (out / "2" / "result.json").unlink()  # as if the sweep had been stopped during job 2
    (out / "3" / "result.json").write_text('{"outcome": "ok", "job"')  # a damaged file
    proc = h.run_cli(["sweep-report", str(out)], tmp_path, prog="spyre-hydra")
    assert proc.returncode == 0, proc.stderr
    assert "partial sweep: 1 of 6 points has no result.json (job 2)." in proc.stdout
    assert "- 4 ok, 1 failed, 1 missing\n" in proc.stdout
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["job"] for r in rows] == ["0", "1", "2", "3", "4", "5"]  # one row per job
    assert [r["outcome"] for r in rows] == ["ok", "ok", "missing", "failed", "ok", "ok"]
    assert rows[3]["point"] == "device=tp2 max_tokens=2"  # from sweep.json
    assert "unreadable" in rows[3]["error"] and "Expecting" in rows[3]["error"]
    assert rows[4]["device"] == "tp4" and rows[4]["model"] == "granite_8b"


def test_sweep_report_refuses_a_dir_without_results(h, tmp_path):
    proc = h.run_cli(["sweep-report", str(tmp_path)], tmp_path, prog="spyre-hydra")
    assert proc.returncode == 2
    assert "has no */result.json and no sweep.json" in proc.stderr
    assert "Traceback" not in proc.stderr

"""sweep.explore=true: a sweep runs layouts the catalog does not list, marked verified: false;
the catalog's bounds and shape rules still hold. Dry runs (mode=plan): no engine."""

from __future__ import annotations

import csv
import json

SHAPE = "runtime.warmup_shapes=[192,16,2]"  # tiny_granite lists [128,8,2] and [128,16,4]: (192, 2) is not listed
BASE = ["-m", "model=tiny_granite", "runtime=static", "backend=eager", "mode=plan"]


def test_an_unlisted_shape_is_refused_without_explore(h, tmp_path):
    proc = h.run_cli([*BASE, SHAPE], tmp_path)
    assert proc.returncode == 2
    assert "does not support tp1 with warmup_shapes=[[192, 16, 2]]" in proc.stderr


def test_explore_runs_it_unverified(h, tmp_path):
    proc = h.run_cli([*BASE, SHAPE, "sweep.explore=true"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout.splitlines()[0])
    assert plan["supported"] is False and plan["layout"] == "neither"
    assert any("Exploring (sweep.explore=true)" in w for w in plan["warnings"])


def test_explore_keeps_the_bounds(h, tmp_path):
    proc = h.run_cli([*BASE, "runtime.warmup_shapes=[100,8,1]", "sweep.explore=true"],
                     tmp_path)
    assert proc.returncode == 2 and "multiple of 64" in proc.stderr


def test_explore_marks_results_and_summary_verified_false(h, tmp_path):
    out = tmp_path / "sw"
    proc = h.run_cli([*BASE, "runtime.warmup_shapes=[64,8,1],[192,16,2]",
                      "sweep.explore=true", f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    verified = [json.loads((out / str(n) / "result.json").read_text())["verified"]
                for n in range(2)]
    assert verified == [True, False]
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["verified"] for r in rows] == ["True", "False"]


def test_an_explored_cb_layout_keeps_the_models_device_settings(h, tmp_path):
    point = ["-m", "model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "backend=eager",
             "mode=plan", "runtime.max_num_seqs=16"]  # granite_8b lists 32 at tp4, not 16
    proc = h.run_cli([*point, "sweep.explore=true"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout.splitlines()[0])
    assert plan["supported"] is False
    assert plan["env"]["FLEX_HDMA_P2PSIZE"] == "268435456"
    assert plan["engine_args"]["num_gpu_blocks_override"] == 2080
    single = h.run_cli(point[1:], tmp_path)  # a single launch: runs it without them
    assert json.loads(single.stdout)["env"] == {}


def test_the_bench_server_of_an_explored_point_explores_too():
    from spyre_hydra.sweep.bench import server_overrides

    assert server_overrides(["model=tiny_granite", "sweep.explore=true", "sweep.repeats=3",
                             "bench.max_concurrency=2", "mode=bench"]) == [
        "model=tiny_granite", "sweep.explore=true"]

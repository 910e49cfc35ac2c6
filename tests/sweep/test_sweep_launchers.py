"""The same plan-mode sweep under the joblib launcher (2 workers) and submitit's local mode."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

TP4_SET = {"VLLM_DT_MAX_BATCH_TKV_LIMIT": "131072", "FLEX_HDMA_P2PSIZE": "268435456",
           "FLEX_HDMA_COLLSIZE": "33554432"}
POINTS = ["-m", "model=granite_8b", "mode=plan", "max_tokens=1,2", "device=tp1,tp4"]


def check(out: Path) -> list[dict]:
    files = sorted(out.glob("*/result.json"), key=lambda p: int(p.parent.name))
    records = [json.loads(p.read_text()) for p in files]
    assert len(records) == 4
    for record in records:
        tp4 = "device=tp4" in record["job"]["overrides"]
        assert record["outcome"] == "ok"
        assert record["env"]["set"] == record["plan"]["env"]  # all applied, none found
        assert record["env"]["kept"] == {}
        assert (TP4_SET.items() <= record["env"]["set"].items()) == tp4
        assert record["env"]["leaked"] in ([], None)
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["device"] for r in rows] == ["tp1", "tp4", "tp1", "tp4"]
    assert not (out / "summary.png").exists()  # plan mode: nothing to plot
    return records


def test_joblib_two_workers(h, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    out = tmp_path / "sweep"
    proc = h.run_cli([*POINTS, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                      f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    check(out)
    done = sorted(line.split("] ok ")[1].split(" ")[0] for line in proc.stderr.splitlines()
                  if line.startswith("spyre-launch: [") and "] ok " in line)
    assert len(done) == 4, proc.stderr  # one progress line per job, from the watcher


@pytest.mark.slow
def test_submitit_local(h, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    out = tmp_path / "sweep"
    proc = h.run_cli([*POINTS, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5",
                      f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    check(out)
    assert (out / ".submitit").is_dir()  # the jobs really went through submitit
    # the jobs' own progress lines go to .submitit logs; the launching process reports
    assert "submitting 4 jobs via LocalLauncher" in proc.stderr
    finished = [line for line in proc.stderr.splitlines()
                if line.startswith("spyre-launch: [") and "] ok " in line]
    assert len(finished) == 4, proc.stderr
    assert "[4/4] ok " in proc.stderr
    assert proc.stderr.splitlines()[-1] == "spyre-launch: 4 ok, 0 failed, 0 skipped"


@pytest.mark.slow
def test_spyre_slurm_preset_composes(h, tmp_path):
    """The Spyre node preset is a valid submitit_slurm config (no cluster needed to check)."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    proc = h.run_cli(["hydra/launcher=spyre_slurm", "mode=plan", "--cfg", "hydra",
                      "-p", "hydra.launcher"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "SlurmLauncher" in proc.stdout
    assert "tasks_per_node: 1" in proc.stdout


@pytest.mark.slow
def test_ray_preset_on_a_local_ray(h, tmp_path):
    """hydra-ray-launcher for real: the spyre_ray preset with address=null, so the launcher
    starts a local Ray (and stops it at exit); the card resource is dropped (no cards here)."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    out = tmp_path / "sweep"
    proc = h.run_cli([*POINTS, "hydra/launcher=spyre_ray", "hydra.launcher.ray.remote.num_cpus=1",
                      "~hydra.launcher.ray.remote.resources",
                      "+hydra.launcher.ray.init.num_cpus=2",
                      "+hydra.launcher.ray.init.include_dashboard=false",
                      f"hydra.sweep.dir={out}"], tmp_path, RAY_AUTH_MODE="disabled",
                     RAY_USAGE_STATS_ENABLED="0", HOME=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    check(out)
    assert "submitting 4 jobs via RayLauncher" in proc.stderr

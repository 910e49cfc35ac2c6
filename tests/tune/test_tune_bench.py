"""`spyre-hydra tune` end to end on the tiny model (eager backend, CPU): one 4-point bench
sweep (an unlisted shape explored), three profiles written, launched, re-chosen with --from,
an SLO no point meets, a hand-edited model file left alone. Slow: one bench sweep for the
whole module; every other step reads its dir."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ENGINE_PYTHON = Path(os.environ.get("SPYRE_HYDRA_ENGINE_VENV", REPO / ".venv-engine")) / \
    "bin" / "python"
#: generous: the tiny model on 2 shared cores meets it at any point; the ordering decides
SLO = "ttft_p99_ms<=60000,tpot_mean_ms<=20000"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.engine,
    pytest.mark.skipif(not ENGINE_PYTHON.is_file(), reason=f"engine venv missing: {ENGINE_PYTHON}"),
]


def _run(h, args, cwd, timeout=1800):
    env = h.clean_env(PYTHONPATH=str(REPO), VLLM_LOGGING_LEVEL="WARNING")
    return subprocess.run([str(ENGINE_PYTHON), "-m", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def tune(h, cwd, *args):
    return _run(h, ["spyre_hydra.cli.main", "tune", *args], cwd)


def profiles(conf: Path, option: str = "tiny_granite") -> dict:
    return yaml.safe_load((conf / "model" / f"{option}.yaml").read_text())["profiles"]


@pytest.fixture(scope="module")
def tuned(h, tmp_path_factory):
    work = tmp_path_factory.mktemp("tune")
    proc = tune(h, work, "model=tiny_granite", "runtime=static", "backend=eager", "device=tp1",
                "runtime.warmup_shapes=[64,8,1],[192,16,2]", "bench.max_concurrency=1,2",
                "bench.num_prompts=4", f"hydra.sweep.dir={work / 'sw'}", "--slo", SLO,
                "--out", str(work / "conf"))
    return work, proc


def test_a_four_point_tune_writes_three_profiles(tuned):
    work, proc = tuned
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr
    records = [json.loads((work / "sw" / str(n) / "result.json").read_text())
               for n in range(4)]
    assert [r["outcome"] for r in records] == ["ok"] * 4
    assert [r["verified"] for r in records] == [True, True, False, False]  # explored
    written = profiles(work / "conf")
    assert sorted(written) == ["balanced", "latency", "throughput"]
    for name, profile in written.items():
        chosen = records[profile["evidence"]["job"]]
        assert profile["warmup_shapes"] == chosen["plan"]["warmup_shapes"], name
        measured = chosen["bench"]["metrics"]["output_throughput"]
        assert profile["evidence"]["measured"]["output_throughput"] == measured
    best = max(records, key=lambda r: r["bench"]["metrics"]["output_throughput"])
    assert written["throughput"]["evidence"]["job"] == best["job"]["num"]
    report = (work / "sw" / "tune.md").read_text()
    assert report.count("| pass |") == 4 and "**throughput**" in report
    assert (work / "sw" / "tune.png").read_bytes()[:4] == b"\x89PNG"


def test_launch_with_the_latency_profile_plans_the_chosen_layout(h, tuned):
    work, _ = tuned
    chosen = profiles(work / "conf")["latency"]
    proc = _run(h, ["spyre_hydra.cli.launch", "--config-dir", str(work / "conf"),
                    "profile=latency", "mode=plan", "backend=eager"], work, timeout=120)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["warmup_shapes"] == chosen["warmup_shapes"]
    assert plan["profile"]["id"] == chosen["id"] and plan["profile"]["as_measured"]
    assert plan["layout"] == ("catalog-verified" if chosen["evidence"]["catalog_verified"]
                              else "tune-measured")


def test_a_second_tune_from_the_same_dir_chooses_the_same(h, tuned):
    work, _ = tuned
    proc = tune(h, work, "--from", str(work / "sw"), "--slo", SLO, "--out", str(work / "again"))
    assert proc.returncode == 0, proc.stderr
    first, second = profiles(work / "conf"), profiles(work / "again")
    assert {n: (p["id"], p["warmup_shapes"]) for n, p in first.items()} == \
        {n: (p["id"], p["warmup_shapes"]) for n, p in second.items()}


def test_an_slo_no_point_meets_exits_1_naming_the_closest(h, tuned):
    work, _ = tuned
    proc = tune(h, work, "--from", str(work / "sw"), "--slo", "ttft_p99_ms<=0.001",
                "--out", str(work / "none"))
    assert proc.returncode == 1
    assert "no point meets the SLO ttft_p99_ms<=0.001; closest: job " in proc.stderr
    assert not (work / "none").exists()


def test_a_hand_edited_model_file_is_left_untouched(h, tuned):
    work, _ = tuned
    conf = work / "edited"
    first = tune(h, work, "--from", str(work / "sw"), "--slo", SLO, "--out", str(conf))
    assert first.returncode == 0, first.stderr
    mine = conf / "model" / "tiny_granite.yaml"
    mine.write_text(mine.read_text().replace("family: tiny", "family: tiny  # mine"))
    before = mine.read_bytes()
    proc = tune(h, work, "--from", str(work / "sw"), "--slo", SLO, "--objective", "latency",
                "--out", str(conf))
    assert proc.returncode == 0, proc.stderr
    assert mine.read_bytes() == before
    assert sorted(profiles(conf, "tiny_granite_tuned")) == ["latency"]
    assert "model tiny_granite_tuned" in proc.stdout

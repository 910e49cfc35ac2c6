"""mode=bench end to end, each point served by `spyre-launch mode=serve`: the tiny model's
static shapes on the eager backend, measured with the plugin's sendnn-bench serve (vLLM's
bench serve code plus Spyre metrics), and one shape on plain vLLM (backend=cpu), measured
with vLLM's own bench serve. Slow: engine starts and benchmark clients."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENGINE_PYTHON = Path(os.environ.get("SPYRE_HYDRA_ENGINE_VENV", REPO / ".venv-engine")) / \
    "bin" / "python"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.engine,
    pytest.mark.skipif(not ENGINE_PYTHON.is_file(), reason=f"engine venv missing: {ENGINE_PYTHON}"),
]


def test_tiny_bench_sweep_two_shapes_reuses_the_server_across_bench_points(h, tmp_path):
    out = tmp_path / "bench"
    env = h.clean_env(PYTHONPATH=str(REPO), VLLM_LOGGING_LEVEL="WARNING")
    proc = subprocess.run(
        [str(ENGINE_PYTHON), "-m", "spyre_hydra.cli.launch", "-m", "model=tiny_granite",
         "runtime=static", "backend=eager", "device=tp1", "mode=bench",
         "runtime.warmup_shapes=[64,8,1],[64,8,2]", "bench.max_concurrency=1,2",
         "bench.num_prompts=4", f"hydra.sweep.dir={out}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    records = [json.loads((out / str(n) / "result.json").read_text()) for n in range(4)]
    for record in records:
        assert record["outcome"] == "ok", record["error"]
        bench = record["bench"]
        assert bench["client"] == "sendnn-bench serve"
        metrics = bench["metrics"]
        for name in ("ttft", "tpot", "itl", "e2el"):
            for stat in ("mean", "p50", "p99"):
                assert metrics[f"{name}_{stat}_ms"] > 0, (name, stat, metrics)
        assert metrics["request_throughput"] > 0 and metrics["output_throughput"] > 0
        assert metrics["completed"] == 4 and metrics["failed"] == 0
        assert bench["server_start_s"] > 0
        result = json.loads(Path(bench["result_files"][0]).read_text())
        assert result["max_concurrency"] == int(
            next(o for o in record["job"]["overrides"] if o.startswith("bench.max_concurrency"))
            .split("=")[1])
    # one server per shape, reused by the point that changes only the concurrency
    assert [r["bench"]["server_reused"] for r in records] == [False, True, False, True]
    assert records[0]["bench"]["workload"]["prompt_len"] == 60  # 64 less the slack
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["outcome"] for r in rows] == ["ok"] * 4
    assert all(float(r["e2el_mean_ms"]) > 0 for r in rows)
    for name in ("summary.png", "pareto.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert "Traceback" not in proc.stderr


def test_bench_on_plain_vllm_uses_vllms_own_serving_benchmark(h, tmp_path):
    """backend=cpu (no Spyre plugin in the server): the client is vLLM's bench serve."""
    out = tmp_path / "bench"
    env = h.clean_env(PYTHONPATH=str(REPO), VLLM_LOGGING_LEVEL="WARNING")
    proc = subprocess.run(
        [str(ENGINE_PYTHON), "-m", "spyre_hydra.cli.launch", "-m", "model=tiny_granite",
         "runtime=static", "backend=cpu", "device=tp1", "mode=bench",
         "runtime.warmup_shapes=[64,8,1]", "bench.num_prompts=2", f"hydra.sweep.dir={out}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    record = json.loads((out / "0" / "result.json").read_text())
    assert record["outcome"] == "ok", record["error"]
    bench = record["bench"]
    assert bench["client"] == "vllm bench serve" and bench["spyre"] == {}
    metrics = bench["metrics"]
    assert metrics["completed"] == 2 and metrics["failed"] == 0
    assert metrics["e2el_p99_ms"] >= metrics["e2el_p50_ms"] > 0
    assert json.loads(Path(bench["result_files"][0]).read_text())["completed"] == 2

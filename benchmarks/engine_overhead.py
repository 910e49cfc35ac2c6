"""Engine start + first tokens through `spyre-launch` against the same engine straight
through vLLM (goal: median ratio <= 1.05).

    python benchmarks/engine_overhead.py [--runs 3] [--max-tokens 16]   # engine venv python

Both sides run the tiny Granite on the Spyre plugin's eager CPU path in fresh processes,
interleaved. The vLLM side is a few lines -- EngineArgs(...).create_engine_config(),
LLMEngine.from_vllm_config(), generate -- given the env and engine args spyre-launch uses
(including the plugin's `vllm serve` defaults it ends up with, read from a mode=config run).
Printed: in-process seconds (import vllm + config + engine start + generation, as each side
measures them) and wall seconds of the whole process, with the median ratio of each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 1.05
BIN = Path(sys.executable).parent
PLAIN = r"""
import json, os, sys, time
t0 = time.perf_counter()
import vllm
from vllm import SamplingParams
from vllm.engine.arg_utils import EngineArgs
from vllm.v1.engine.llm_engine import LLMEngine
spec = json.loads(sys.argv[1])
vc = EngineArgs(**spec["engine_args"]).create_engine_config()
t1 = time.perf_counter()
engine = LLMEngine.from_vllm_config(vc, disable_log_stats=True)
t2 = time.perf_counter()
params = SamplingParams(max_tokens=spec["max_tokens"], temperature=0.0, ignore_eos=True)
for i, p in enumerate(spec["prompts"]):
    engine.add_request(str(i), p, params)
while engine.has_unfinished_requests():
    engine.step()
t3 = time.perf_counter()
print(f"config_s={t1 - t0:.3f} engine_start_s={t2 - t1:.3f} generate_s={t3 - t2:.3f}", flush=True)
try:
    engine.engine_core.shutdown()
except RuntimeError:  # torch.accelerator cleanup on a machine without one (see run.py)
    pass
"""


def _timings(stdout: str) -> dict[str, float]:
    last = [x for x in stdout.splitlines() if "engine_start_s=" in x][-1]
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", last)}


def _run(cmd: list[str], env: dict) -> tuple[float, dict[str, float]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{proc.stderr[-3000:]}")
    t = _timings(proc.stdout)
    return wall, t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=16)
    opts = parser.parse_args()

    from spyre_hydra.engine.backend import free_port
    from spyre_hydra.engine.modes import launch_env, resolve_engine_args
    from spyre_hydra import compose
    from spyre_hydra.composer import compose_launch

    overrides = ["backend=eager", f"max_tokens={opts.max_tokens}"]
    cfg = compose_launch(overrides)
    plan = compose(overrides)
    launch = [str(BIN / "spyre-launch"), *overrides]
    base_env = {**os.environ, "VLLM_LOGGING_LEVEL": "WARNING"}
    summary = json.loads(subprocess.run([*launch, "mode=config"], env=base_env, check=True,
                                        capture_output=True, text=True).stdout)
    env = {**base_env, **launch_env(plan, "generate", environ=base_env)}
    args = resolve_engine_args(plan)  # builtin:tiny_granite -> its cached directory
    for key in ("max_num_batched_tokens", "enable_chunked_prefill", "enable_prefix_caching"):
        args[key] = summary[key]  # the platform's `vllm serve` defaults spyre-launch uses
    spec = json.dumps({"engine_args": args, "max_tokens": opts.max_tokens,
                       "prompts": list(cfg.prompts)})
    ours, plain = [], []
    for _ in range(opts.runs):
        ours.append(_run(launch, base_env))
        plain.append(_run([sys.executable, "-c", PLAIN, spec],
                          {**env, "MASTER_PORT": str(free_port())}))

    def inproc(t):  # import vllm + config, engine start, generation
        return t["config_s"] + t["engine_start_s"] + t["generate_s"]

    print(f"engine args: {args}")
    print(f"{'run':>3} | spyre-launch: wall in-proc (config start gen) | vLLM: wall in-proc "
          "(config start gen)")
    for i, ((w1, t1), (w2, t2)) in enumerate(zip(ours, plain, strict=True)):
        parts = [" ".join(f"{t[k]:.2f}" for k in ("config_s", "engine_start_s", "generate_s"))
                 for t in (t1, t2)]
        print(f"{i:>3} | {w1:6.2f} {inproc(t1):6.2f} ({parts[0]}) | {w2:6.2f} {inproc(t2):6.2f} "
              f"({parts[1]})")
    for label, key in (("in-process", inproc), ("wall", None)):
        a = statistics.median(key(t) if key else w for w, t in ours)
        b = statistics.median(key(t) if key else w for w, t in plain)
        verdict = "ok" if a / b <= GOAL else "above goal"
        print(f"{label:>10}: spyre-launch {a:.2f}s vs vLLM {b:.2f}s -> ratio {a / b:.3f} "
              f"(goal <= {GOAL}: {verdict})")
    for part in ("config_s", "engine_start_s", "generate_s"):
        print(f"  median {part}: spyre-launch {statistics.median(t[part] for _, t in ours):.3f}"
              f"  vLLM {statistics.median(t[part] for _, t in plain):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

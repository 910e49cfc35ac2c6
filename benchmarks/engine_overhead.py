"""Engine start + first tokens through `spyre-launch` against the same engine straight
through vLLM (goal: median ratio <= 1.05).

    python benchmarks/engine_overhead.py [--runs 3] [--max-tokens 16]   # engine venv python

Both sides run the tiny Granite on the Spyre plugin's eager CPU path in fresh processes,
interleaved. The vLLM side is a few lines -- EngineArgs(...).create_engine_config(),
LLMEngine.from_vllm_config(), generate -- given the env and engine args spyre-launch uses
(including the plugin's `vllm serve` defaults it ends up with, read from a mode=config run).
One untimed warm-up run of each side, then runs in ABBA order (a fixed order favours whichever
side follows the other's exit). Printed per run and as medians with their ratio: wall seconds
of the whole process, its CPU seconds (user + system, from getrusage: steadier than wall on a
busy machine) and the in-process seconds each side times itself (import vllm + config +
engine start + generation). spyre-launch keeps the garbage collector out of vLLM's imports
and of its own exit (spyre_hydra/engine/gcpolicy.py); --same-gc does the same on the vLLM
side, which leaves the cost of the front door itself (Python and Hydra start-up, compose,
checks, plan) in the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 1.05
BIN = Path(sys.executable).parent
PLAIN = r"""
import gc, json, os, sys, time
SAME_GC = sys.argv[2] == "1"
t0 = time.perf_counter()
if SAME_GC:
    gc.disable()
import vllm
from vllm import SamplingParams
from vllm.engine.arg_utils import EngineArgs
from vllm.v1.engine.llm_engine import LLMEngine
spec = json.loads(sys.argv[1])
vc = EngineArgs(**spec["engine_args"]).create_engine_config()
if SAME_GC:
    gc.freeze()
    gc.enable()
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
if SAME_GC:
    gc.freeze()
"""


def _timings(stdout: str) -> dict[str, float]:
    last = [x for x in stdout.splitlines() if "engine_start_s=" in x][-1]
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", last)}


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _run(cmd: list[str], env: dict) -> tuple[float, dict[str, float]]:
    c0, t0 = _cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{proc.stderr[-3000:]}")
    t = _timings(proc.stdout)
    t["cpu_s"] = cpu
    return wall, t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--same-gc", action="store_true",
                        help="give the vLLM side spyre-launch's GC policy (engine/gcpolicy.py), "
                        "so the ratio shows the front door's own cost only")
    opts = parser.parse_args()

    from spyre_hydra import compose
    from spyre_hydra.conftree.compose import compose_launch
    from spyre_hydra.engine.ports import free_port
    from spyre_hydra.engine.modes import launch_env, resolve_engine_args

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
    sides = {"spyre-launch": lambda: _run(launch, base_env),
             "vLLM": lambda: _run([sys.executable, "-c", PLAIN, spec, str(int(opts.same_gc))],
                                  {**env, "MASTER_PORT": str(free_port())})}
    for run in sides.values():  # warm-up, not counted: page cache, tiny model, exported catalog
        run()
    results: dict[str, list] = {name: [] for name in sides}
    for i in range(opts.runs):  # ABBA order: neither side always runs right after the other
        for name in (sides if i % 2 == 0 else reversed(list(sides))):
            results[name].append(sides[name]())
    ours, plain = results["spyre-launch"], results["vLLM"]

    def inproc(t):  # import vllm + config, engine start, generation
        return t["config_s"] + t["engine_start_s"] + t["generate_s"]

    print(f"engine args: {args}")
    print(f"vLLM side with spyre-launch's GC policy: {opts.same_gc}")
    print(f"{'run':>3} | spyre-launch: wall cpu in-proc (config start gen) | vLLM: wall cpu "
          "in-proc (config start gen)")
    for i, ((w1, t1), (w2, t2)) in enumerate(zip(ours, plain, strict=True)):
        parts = [f"{t['cpu_s']:6.2f} {inproc(t):6.2f} ("
                 + " ".join(f"{t[k]:.2f}" for k in ("config_s", "engine_start_s", "generate_s"))
                 + ")" for t in (t1, t2)]
        print(f"{i:>3} | {w1:6.2f} {parts[0]} | {w2:6.2f} {parts[1]}")
    for label, key in (("wall", None), ("in-process", inproc), ("cpu", lambda t: t["cpu_s"])):
        a = statistics.median(key(t) if key else w for w, t in ours)
        b = statistics.median(key(t) if key else w for w, t in plain)
        verdict = "ok" if a / b <= GOAL else "above goal"
        print(f"{label:>10}: median spyre-launch {a:.2f}s vs vLLM {b:.2f}s -> ratio {a / b:.3f}"
              f" (goal <= {GOAL}: {verdict})")
    for part in ("config_s", "engine_start_s", "generate_s"):
        print(f"  median {part}: spyre-launch {statistics.median(t[part] for _, t in ours):.3f}"
              f"  vLLM {statistics.median(t[part] for _, t in plain):.3f}")
    # Whole process minus what each side times itself: start-up (Python, Hydra, the plan)
    # and exit (interpreter shutdown).
    print("  median outside in-process: spyre-launch "
          f"{statistics.median(w - inproc(t) for w, t in ours):.3f}  vLLM "
          f"{statistics.median(w - inproc(t) for w, t in plain):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

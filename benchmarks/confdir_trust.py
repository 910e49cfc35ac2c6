"""Cost of holding a user conf dir to its groups (conftree/trust.py), as ratios.

    python benchmarks/confdir_trust.py [N]

1. `spyre-launch --config-dir DIR model=mine mode=plan` against the same plan of a shipped
   model (no conf dir), mean of 5 runs each: what a small user conf dir costs a launch.
2. A fresh process's check of a conf dir of N (default 5,000) model files, first with an
   empty cache (every file parsed) then warm (verdicts remembered by stat signature), against
   a bare walk of the same dir (goal for the warm check: well under trustdata's 0.5 s).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = """\
defaults:
  - family/base@_here_
  - _self_
hf_id: user/bench-{i}
family: tiny
path: builtin:tiny_granite
architecture: {{model_type: granite, num_hidden_layers: 3, hidden_size: {size}}}
continuous_batching_configs:
  - {{tp_size: 1, max_model_len: 512, max_num_seqs: 4}}
"""
CHECK = ("import sys, time; from spyre_hydra.conftree import roots; t = time.perf_counter(); "
         "roots.search_path(sys.argv[1]); print(time.perf_counter() - t)")
WALK = ("import os, sys, time; t = time.perf_counter(); "
        "[None for _ in os.walk(sys.argv[1])]; print(time.perf_counter() - t)")


def launch(args: list[str], cwd: Path, env: dict) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "spyre_hydra.cli.launch", *args, "mode=plan",
                        "backend=eager"], cwd=cwd, env=env, check=True, capture_output=True)
        runs.append(time.perf_counter() - started)
    return sum(runs) / len(runs)


def timed(code: str, arg: Path, env: dict) -> float:
    out = subprocess.run([sys.executable, "-c", code, str(arg)], env=env, check=True,
                         capture_output=True, text=True, cwd=arg.parent)
    return float(out.stdout.strip())


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "SPYRE_HYDRA_CACHE": str(tmp / "cache")}
        small = tmp / "small"
        (small / "model").mkdir(parents=True)
        (small / "model" / "mine.yaml").write_text(MODEL.format(i=0, size=72))
        shipped = launch(["model=tiny_granite"], tmp, env)
        user = launch(["--config-dir", str(small), "model=mine"], tmp, env)
        print(f"mode=plan: shipped model {shipped:.3f}s, small user conf dir {user:.3f}s "
              f"(ratio {user / shipped:.2f})")
        big = tmp / "big"
        (big / "model").mkdir(parents=True)
        for i in range(count):
            (big / "model" / f"m{i}.yaml").write_text(MODEL.format(i=i, size=64 + i))
        walk = timed(WALK, big, env)
        cold = timed(CHECK, big, env)
        warm = timed(CHECK, big, env)
        print(f"{count} model files: bare walk {walk:.3f}s, check cold {cold:.3f}s, "
              f"warm {warm:.3f}s (warm/walk {warm / walk:.1f})")


if __name__ == "__main__":
    main()

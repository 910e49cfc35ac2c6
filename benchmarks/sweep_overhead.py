"""Per-job overhead of a plan-mode sweep against a single plan run (goal: <= 0.25 s per job).

    python benchmarks/sweep_overhead.py [--points 64] [--repeat 3]

Runs `spyre-launch model=granite_8b ... mode=plan` once per repeat, then a 64-point sweep of
the same plan with the basic launcher and with joblib (2 workers), each in a fresh process,
and prints wall-clock and CPU seconds (this process's children) with the per-job overhead:
(sweep - single run) / points. CPU time is the steadier number on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 0.25
BASE = ["model=granite_8b", "sendnn_version=1.0.2", "mode=plan"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], cwd: str) -> tuple[float, float]:
    """(wall s, cpu s) of one spyre-launch process."""
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "spyre_hydra.launch", *argv], cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, cpu = time.perf_counter() - wall0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"spyre-launch {' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return wall, cpu


def sweep_argv(points: int, out: Path, extra: list[str]) -> list[str]:
    """A plan-mode sweep of `points` jobs mixing tp1 and tp4 (points must be a multiple of 4)."""
    tokens = ",".join(str(i + 1) for i in range(points // 4))
    return ["-m", *BASE, f"max_tokens={tokens}", "sendnn_version=1.0.2,1.0.3",
            "device=tp1,tp4", f"hydra.sweep.dir={out}", *extra]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    points = max(4, args.points // 4 * 4)
    with tempfile.TemporaryDirectory() as tmp:
        single = [timed([*BASE, "device=tp4"], tmp) for _ in range(args.repeat)]
        s_wall = statistics.median(w for w, _ in single)
        s_cpu = statistics.median(c for _, c in single)
        print(f"single plan run: {s_wall:.3f} s wall, {s_cpu:.3f} s cpu "
              f"(median of {args.repeat})")
        print(f"{'launcher':<22}{'points':>7}{'wall s':>9}{'cpu s':>9}"
              f"{'wall/job':>10}{'cpu/job':>9}{'goal ratio':>12}")
        for name, extra in (("basic (in-process)", []),
                            ("joblib n_jobs=2", ["hydra/launcher=joblib",
                                                 "hydra.launcher.n_jobs=2"])):
            out = Path(tmp) / name.split()[0]
            wall, cpu = timed(sweep_argv(points, out, extra), tmp)
            results = len(list(out.glob("*/result.json")))
            if results != points:
                raise SystemExit(f"{name}: {results} result.json files for {points} points")
            per_wall, per_cpu = (wall - s_wall) / points, (cpu - s_cpu) / points
            print(f"{name:<22}{points:>7}{wall:>9.2f}{cpu:>9.2f}{per_wall:>10.3f}"
                  f"{per_cpu:>9.3f}{per_wall / GOAL_S:>12.2f}")
    print(f"goal: <= {GOAL_S} s per job (goal ratio <= 1.0); {os.cpu_count()} CPUs. joblib "
          "CPU includes its worker processes' start-up.")


if __name__ == "__main__":
    main()

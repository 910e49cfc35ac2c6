"""Per-point cost of a plan-mode sweep against one single `mode=plan` run (goal: <= 0.15x).

    python benchmarks/sweep_overhead.py [--points 64 1000] [--repeat 3]

Times `spyre-launch model=granite_8b device=tp4 mode=plan` (median of --repeat runs), then
plan-mode sweeps of 64 and 1,000 points with the default (basic) launcher writing result.json
files (hydra.sweep.dir given), each in a fresh process, and prints for each:
    ratio = (sweep wall - single wall) / points / single wall
plus the wait between the pre-flight line and the first job's progress line (no stall:
it should be about one job's time). CPU seconds are printed too: steadier on a shared box.
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

GOAL = 0.15
BASE = ["model=granite_8b", "mode=plan"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], cwd: str) -> tuple[float, float, str]:
    """(wall s, cpu s, stderr) of one spyre-launch process."""
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "spyre_hydra.cli.launch", *argv], cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, cpu = time.perf_counter() - wall0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"spyre-launch {' '.join(argv[:6])} ... failed:\n{proc.stderr[-2000:]}")
    return wall, cpu, proc.stderr


def sweep_argv(points: int, out: Path) -> list[str]:
    """A plan-mode sweep of `points` jobs over tp1/tp4 and two versions (multiple of 4)."""
    tokens = ",".join(str(i + 1) for i in range(points // 4))
    return ["-m", *BASE, f"max_tokens={tokens}", "sendnn_version=1.0.2,1.0.3",
            "device=tp1,tp4", f"hydra.sweep.dir={out}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[64, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        single = [timed([*BASE, "device=tp4"], tmp) for _ in range(args.repeat)]
        s_wall = statistics.median(w for w, _, _ in single)
        s_cpu = statistics.median(c for _, c, _ in single)
        print(f"single plan run: {s_wall:.3f} s wall, {s_cpu:.3f} s cpu (median of "
              f"{args.repeat}); goal per point: <= {GOAL * s_wall:.3f} s")
        print(f"{'points':>7}{'wall s':>9}{'cpu s':>9}{'wall/pt':>9}{'cpu/pt':>8}"
              f"{'preflight s':>12}{'ratio':>8}{'cpu ratio':>10}")
        for points in args.points:
            points = max(4, points // 4 * 4)
            out = Path(tmp) / f"sweep{points}"
            wall, cpu, err = timed(sweep_argv(points, out), tmp)
            results = len(list(out.glob("*/result.json")))
            if results != points:
                raise SystemExit(f"{results} result.json files for {points} points")
            checked = next((line for line in err.splitlines() if " checked in " in line), "")
            pre = float(checked.rsplit(" checked in ", 1)[1].split("s")[0]) if checked else 0.0
            per_wall, per_cpu = (wall - s_wall) / points, (cpu - s_cpu) / points
            print(f"{points:>7}{wall:>9.2f}{cpu:>9.2f}{per_wall:>9.3f}{per_cpu:>8.3f}"
                  f"{pre:>12.2f}{per_wall / s_wall:>8.3f}{per_cpu / s_cpu:>10.3f}")
    print(f"goal: ratio <= {GOAL} ({os.cpu_count()} CPUs; wall times include other load)")


if __name__ == "__main__":
    main()

"""CPU time of `spyre-launch model=tiny_granite mode=plan`, this checkout against another.

    git worktree add /tmp/old <rev>
    python benchmarks/plan_cpu.py --old /tmp/old [--runs 9]

Runs the two trees interleaved (old, new, old, new, ...) in fresh processes of this
interpreter, each with its own tree first on PYTHONPATH, and prints each side's median CPU
time (user + system of the child) and the ratio new / old. CPU time is steadier than wall
time on a shared machine; interleaving spreads the machine's drift over both sides.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARGV = ["-c", "from spyre_hydra.cli.launch import main; main()", "model=tiny_granite",
        "mode=plan"]


def cpu_of(tree: Path, cwd: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *ARGV], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="a checkout of the other rev")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    trees = {"old": args.old.resolve(), "new": REPO}
    times: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as cwd:  # no stray conf or outputs dir of the caller
        for name, tree in trees.items():
            cpu_of(tree, cwd)  # warm-up: the catalog cache and the page cache
        for _ in range(args.runs):
            for name, tree in trees.items():
                times[name].append(cpu_of(tree, cwd))
    for name, values in times.items():
        print(f"{name}: median CPU {statistics.median(values):.3f} s over {len(values)} runs "
              f"({trees[name]})")
    print(f"ratio new/old: {statistics.median(times['new']) / statistics.median(times['old']):.3f}")


if __name__ == "__main__":
    main()

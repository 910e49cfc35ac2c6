"""Sweeps: `spyre-launch -m ...` through spyre's Hydra Sweeper, every point checked once.

    spyre-launch -m model=granite_8b device=tp1,tp4 mode=plan          # JSON Lines, no files
    spyre-launch -m +sweep=granite_8b_static hydra.sweep.dir=out       # result.json per job
    spyre-launch -m ... mode=bench bench.max_concurrency=1,2            # serving benchmark
    spyre-launch -m ... hydra.sweep.dir=out sweep.resume=true           # the rest of a sweep
    spyre-hydra sweep-report out                                        # tables and plots

Exit status: 2 when the sweep is refused before it starts; 1 when a job failed or left no
result.json; 130 / 143 after SIGINT / SIGTERM (finished results and the summary kept); 0
otherwise -- points skipped by sweep.skip_unsupported=true do not fail a sweep.

Pieces: points (expansion: grammar, shape triples, sweep.zip), compose (compose + check one
point) with pointplan (plan one point, the sweep's checks), sweeper (Hydra's Sweeper parts,
MemoLoader), run (the steps) with finish (summary, exit status), ownership (sweep dir claim,
definition hash, lock), progress (one line per point, ETA), job (one point in a launcher
job), bench + bench_metrics (mode=bench), isolation (per-job process state), worker (fresh
process of an engine job), results (the one writer, readers), report + plots (CSV, Markdown,
PNG). The Sweeper class itself is hydra_plugins.spyre_sweeper.spyre_sweeper.
"""

from spyre_hydra.sweep.compose import PointComposer
from spyre_hydra.sweep.pointplan import plan_point
from spyre_hydra.sweep.points import expand
from spyre_hydra.sweep.results import write_file

__all__ = ["PointComposer", "expand", "plan_point", "write_file"]

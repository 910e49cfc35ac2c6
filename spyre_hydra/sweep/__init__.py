"""Sweeps: `spyre-launch -m ...` over Hydra's own sweep grammar, checked before any job runs.

    spyre-launch -m model=granite_8b device=tp1,tp4 runtime=static \
        'runtime.warmup_shapes=[[2048,1024,16]],[[6144,2048,1]]' sweep.skip_unsupported=true
    spyre-launch -m +sweep=granite_8b_static mode=plan      # a named sweep (conf/sweep/)
    spyre-hydra sweep-report multirun/<date>/<time>          # rebuild table + plot

Exit status: 2 when the pre-flight refuses the sweep (nothing started); 1 when a job failed
or left no result.json (after the summary is written, with `N ok, M failed, K skipped` on
stderr); 0 otherwise -- points skipped by sweep.skip_unsupported=true do not fail a sweep.
Progress: `[i/N]` lines on stderr; under submitit (local or slurm) a job's own output goes
to hydra.launcher.submitit_folder, and the launching process prints a line as each job ends.

Pieces: preflight (expand and plan every point), callback (pre-flight, progress, summary),
isolation (per-job process state), job (run one point, write result.json), worker (the fresh
process of an engine job), results (atomic JSON), report (CSV, Markdown, PNG).
"""

"""Sweeps: `spyre-launch -m ...` over Hydra's own sweep grammar, checked before any job runs.

    spyre-launch -m model=granite_8b device=tp1,tp4 runtime=static \
        'runtime.warmup_shapes=[[2048,1024,16]],[[6144,2048,1]]' sweep.skip_unsupported=true
    spyre-launch -m +sweep=granite_8b_static mode=plan      # a named sweep (conf/sweep/)
    spyre-hydra sweep-report multirun/<date>/<time>          # rebuild table + plot

Pieces: preflight (expand and plan every point), callback (pre-flight, progress, summary),
isolation (per-job process state), job (run one point, write result.json), worker (the fresh
process of an engine job), results (atomic JSON), report (CSV, Markdown, PNG).
"""

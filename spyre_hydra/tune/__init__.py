"""`spyre-hydra tune`: from a bench sweep to the best layout under an SLO, written back as a
model profile (profile=<name>).

Pieces: slo (parse an SLO, judge a point on every repeat), select (the choice per objective:
throughput, latency, balanced = the knee of the Pareto front; the closest miss), profiles
(layout, evidence and id of a choice; the write-back into a user conf dir), report (tune.md,
tune.png), run (the steps over a sweep dir), command (the subcommand: runs the sweep or
reads one with --from). Layer: above sweep, below cli.
"""

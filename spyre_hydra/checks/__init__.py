"""The checks of one launch, one module per stage; pipeline.py runs them in order.

Nothing is imported here: `spyre_hydra.checks.argv` runs before Hydra and must stay cheap.
"""

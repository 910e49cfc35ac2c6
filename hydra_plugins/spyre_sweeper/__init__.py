"""Hydra finds spyre_hydra's sweeper here (the `hydra_plugins` namespace package)."""

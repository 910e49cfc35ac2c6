"""The plugin's package layout (``sendnn_inference``), backed by spyre_hydra."""

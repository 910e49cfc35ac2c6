"""The plugin's ``sendnn_inference.config`` package, backed by spyre_hydra's catalog."""

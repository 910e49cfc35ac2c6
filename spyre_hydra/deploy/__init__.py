"""Layer 7: what production runs: deploy bundles, export-serve and the vLLM plugin."""

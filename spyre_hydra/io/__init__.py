"""Layer 1: reading and writing files, text, tables and output (no Hydra)."""

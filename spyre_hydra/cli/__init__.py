"""Layer 8: the console scripts (spyre-launch, spyre-hydra), their error boundary and tools."""

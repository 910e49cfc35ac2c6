"""Layer 5: the front door: compose, check and build a LaunchPlan (no torch, no vllm)."""

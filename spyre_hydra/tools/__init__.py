"""Subcommands of `spyre-hydra`."""

"""The package version, importable from every layer (the root package imports the rest)."""

__version__ = "0.1.0"

"""`spyre-hydra check`: catalog diagnostics, optionally confirmed against real HF configs.

Without --hf-configs it reports what the patterns alone imply (ties, and patterns refining
others). With a directory of <org>/<model>/config.json files it also matches each config and
reports confirmed shadows: a catalog model whose own config.json is matched as another one.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UnknownOptionError


def add_arguments(parser) -> None:
    parser.add_argument("--hf-configs", metavar="DIR",
                        help="directory of <org>/<model>/config.json to match")
    parser.add_argument("--config-dir", help="conf tree to read (default: the shipped one)")


def read_hf_configs(root: str | Path) -> dict[str, dict]:
    """HF id (<org>/<model>) -> parsed config.json, for every config under `root`."""
    from ..hfconfig import read_hf_config

    root = Path(root)
    if not root.is_dir():
        raise UnknownOptionError(f"--hf-configs {str(root)!r} is not a directory. Fix: point it "
                                 "at a folder holding <org>/<model>/config.json files.")
    files = sorted(root.glob("*/*/config.json"))
    if not files:
        raise UnknownOptionError(f"--hf-configs {str(root)!r} holds no <org>/<model>/config.json."
                                 " Fix: lay the configs out as <org>/<model>/config.json.")
    return {f"{f.parent.parent.name}/{f.parent.name}": read_hf_config(f.parent) for f in files}


def run(args) -> int:
    from ..registry import get_model_registry

    registry = get_model_registry(args.config_dir)
    configs = read_hf_configs(args.hf_configs) if args.hf_configs else None  # fail before output
    print(f"catalog: {len(registry.list_models())} models")
    for note in registry.diagnostics or ["no ties or shadows between patterns"]:
        print(f"  {note}")
    if configs is None:
        return 0
    print(f"HF configs: {len(configs)} under {args.hf_configs}")
    for hf_id, config in configs.items():
        best = registry.matcher.best(config)
        print(f"  {hf_id}: " + (f"matched as {best.name}" if best else "no catalog match"))
    shadows = registry.check_shadows(configs)
    print(f"confirmed shadows: {len(shadows)}")
    for note in shadows:
        print(f"  {note}")
    return 0

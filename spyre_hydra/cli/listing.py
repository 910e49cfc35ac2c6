"""`spyre-hydra list`: the model table (text, markdown for the README, or json)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping

from spyre_hydra.conftree.versions import DEFAULT_KEY
from spyre_hydra.io import tables

HEAD = ["option", "hf_id", "family", "tp sizes", "modes", "platforms", "device settings"]


def blocks_text(value) -> str:
    """A block override as text: `8192`, or `<1.0.3→2080, else 8192` for a version mapping."""
    if not isinstance(value, Mapping):
        return str(value)
    parts = [f"{k}→{v}" for k, v in value.items() if k != DEFAULT_KEY]
    if DEFAULT_KEY in value:
        parts.append(f"else {value[DEFAULT_KEY]}")
    return ", ".join(parts)


def device_settings(entry) -> list[str]:
    """One item per device option with settings: blocks, chunk size, env var names."""
    out = []
    for dev, raw in sorted(entry.device_configs.items()):
        raw = raw or {}
        bits = []
        if raw.get("num_gpu_blocks_override") is not None:
            bits.append(f"blocks: {blocks_text(raw['num_gpu_blocks_override'])}")
        tokens = (raw.get("chunked_prefill_config") or {}).get("max_num_batched_tokens")
        if tokens is not None:
            bits.append(f"chunk: {tokens}")
        if raw.get("env_vars"):
            count = len(raw["env_vars"])
            bits.append(f"{count} env var{'s' if count != 1 else ''}")
        if bits:
            out.append(f"{dev} " + "; ".join(bits))
    return out


def rows(registry) -> list[dict]:
    """One row per catalog model, in catalog order."""
    out = []
    for option in registry.list_options():
        e = registry.get_model_config(option)
        out.append({"option": option, "hf_id": e.name, "family": e.family,
                    "tp_sizes": e.tp_sizes(), "modes": e.modes(), "platforms": e.platforms,
                    "device_settings": device_settings(e), "device_configs": e.device_configs,
                    "profiles": {name: (p or {}).get("id") for name, p in e.profiles.items()}})
    return out


def profiles_text(profiles: Mapping) -> str:
    """`latency (sha256:1a2b...), throughput (...)`: a model's profiles and their ids."""
    return ", ".join(f"{name} ({pid})" for name, pid in sorted(profiles.items())) or "-"


def head(table: list[dict]) -> list[str]:
    """HEAD, plus a profiles column when a model has profiles (spyre-hydra tune)."""
    return HEAD + ["profiles"] if any(r.get("profiles") for r in table) else HEAD


def cells(table: list[dict]) -> list[list[str]]:
    """The table as strings, one list per row, in head()'s column order."""
    extra = any(r.get("profiles") for r in table)
    return [[r["option"], r["hf_id"], r["family"], ",".join(map(str, r["tp_sizes"])),
             ",".join(r["modes"]), ",".join(r["platforms"]) or "all",
             " / ".join(r["device_settings"]) or "-"]
            + ([profiles_text(r.get("profiles") or {})] if extra else []) for r in table]


def markdown(table: list[dict]) -> str:
    """The README's model table (kept in sync by tests/test_listing.py)."""
    return tables.markdown(head(table), cells(table))


def add_arguments(parser) -> None:
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--config-dir", help="conf tree to read (default: the shipped one)")


def run(args) -> int:
    from spyre_hydra.catalog.registry import get_model_registry
    from spyre_hydra.cli.check import code_notes

    registry = get_model_registry(getattr(args, "conf_tree", args.config_dir))
    table = rows(registry)
    for note in code_notes(registry):
        print(f"spyre-hydra: note: {note}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(table, indent=2, ensure_ascii=False))
    elif args.format == "markdown":
        print(markdown(table))
    else:
        from spyre_hydra.io.output import readable_stdout

        with readable_stdout():  # a table to read: `->` where stdout cannot hold `→`
            print(tables.text(head(table), cells(table)))
    return 0

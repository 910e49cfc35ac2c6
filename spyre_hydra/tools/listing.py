"""`spyre-hydra list`: the model table."""

from __future__ import annotations

import json


def add_arguments(parser) -> None:
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--config-dir", help="conf tree to read (default: the shipped one)")


def rows(registry) -> list[dict]:
    """One row per catalog model, in catalog order."""
    out = []
    for option in registry.list_options():
        e = registry.get_model_config(option)
        out.append({"option": option, "hf_id": e.name, "family": e.family,
                    "tp_sizes": e.tp_sizes(), "modes": e.modes(), "platforms": e.platforms})
    return out


def run(args) -> int:
    from ..registry import get_model_registry

    table = rows(get_model_registry(args.config_dir))
    if args.format == "json":
        print(json.dumps(table, indent=2))
        return 0
    head = ["option", "hf_id", "family", "tp sizes", "modes"]
    cells = [[r["option"], r["hf_id"], r["family"], ",".join(map(str, r["tp_sizes"])),
              ",".join(r["modes"])] for r in table]
    if args.format == "markdown":
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for c in cells:
            print("| " + " | ".join(c) + " |")
        return 0
    widths = [max(len(x) for x in col) for col in zip(head, *cells)]
    for line in [head, *cells]:
        print("  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip())
    return 0

"""`spyre-hydra schema`: each field of the typed schema with its type and docstring.

Attribute docstrings (a string right after a field) are not kept at runtime, so they are
read from schema.py's source with `ast`; the source is the single place they are written.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _is_dataclass(node: ast.ClassDef) -> bool:
    names = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
    return any(getattr(n, "id", getattr(n, "attr", None)) == "dataclass" for n in names)


def fields(source: str | None = None) -> list[dict]:
    """[{class, field, type, default, doc}] for every dataclass field of schema.py."""
    if source is None:
        from spyre_hydra.conftree import schema
        source = Path(schema.__file__).read_text(encoding="utf-8")
    out = []
    for cls in ast.parse(source).body:
        if not isinstance(cls, ast.ClassDef) or not _is_dataclass(cls):
            continue
        body = cls.body
        for i, stmt in enumerate(body):
            if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
                continue
            nxt = body[i + 1] if i + 1 < len(body) else None
            doc = (nxt.value.value if isinstance(nxt, ast.Expr) and isinstance(
                nxt.value, ast.Constant) and isinstance(nxt.value.value, str) else "")
            default = ast.unparse(stmt.value) if stmt.value is not None else ""
            if default == "MISSING":
                default = "??? (required)"
            elif default.startswith("field(default_factory="):
                default = default[len("field(default_factory="):-1] + "()"
            out.append({"class": cls.name, "field": stmt.target.id,
                        "type": ast.unparse(stmt.annotation), "default": default,
                        "doc": " ".join(doc.split())})
    return out


def run(args) -> int:
    table = fields()
    if args.format == "json":
        print(json.dumps(table, indent=2))
        return 0
    current = None
    for row in table:
        if row["class"] != current:
            current = row["class"]
            print(f"{'' if row is table[0] else chr(10)}{current}")
        default = f" = {row['default']}" if row["default"] else ""
        print(f"  {row['field']}: {row['type']}{default}")
        print(f"      {row['doc'] or '(undocumented)'}")
    return 0

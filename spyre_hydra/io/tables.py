"""The one table renderer: Markdown (README, sweep summaries) and aligned plain text.

Cells are strings; None becomes empty. In Markdown a `|` is escaped and a newline becomes a
space, so a value from a user's file can never add a column or a row; terminal escapes
and control characters are dropped (spyre_hydra.io.sanitize).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def _cell(value: Any) -> str:
    from spyre_hydra.io.sanitize import printable

    return "" if value is None else printable(" ".join(str(value).splitlines()))


def markdown(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub Markdown table (no trailing newline)."""
    def line(cells):
        return "| " + " | ".join(_cell(c).replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(head), "|" + "---|" * len(head), *(line(r) for r in rows)])


def text(head: Sequence[str], rows: Iterable[Sequence[Any]], gap: int = 2) -> str:
    """Columns padded to their widest cell, trailing spaces stripped (no trailing newline)."""
    body = [[_cell(c) for c in row] for row in [head, *rows]]
    widths = [max(len(x) for x in col) for col in zip(*body)]
    return "\n".join((" " * gap).join(x.ljust(w) for x, w in zip(line, widths)).rstrip()
                     for line in body)


__all__ = ["markdown", "text"]

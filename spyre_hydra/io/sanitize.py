"""Text from data files (result.json, conf files, catalogs) on its way to a terminal or a
spreadsheet: it must not drive the terminal nor become a formula.

- :func:`printable` drops terminal escape sequences (CSI, OSC, DCS, ...), other C0/C1 control
  characters and the bidirectional overrides that reorder what a reader sees; newlines and
  tabs stay.
- :func:`csv_cell` neutralises a text cell a spreadsheet would run as a formula (leading
  ``=``, ``+``, ``-``, ``@``, tab or CR) by prefixing ``'``, as OWASP advises. Numbers stay
  numbers.
"""

from __future__ import annotations

import re
from typing import Any

# ESC [ ... final byte (CSI); ESC ] ... BEL or ESC \ (OSC); ESC P/X/^/_ ... ESC \ (DCS, SOS,
# PM, APC); ESC + one byte (the rest); then the single-byte C1 forms of the same.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"
)
# C0 controls but tab and newline, DEL, C1, and the bidi embeddings/overrides/isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def printable(text: Any) -> str:
    """``text`` as a string a terminal shows as it is (escape sequences and controls gone)."""
    text = str(text)
    if text.isprintable():  # the common case: nothing to strip (newlines are not printable)
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: ``'`` before a leading =, +, -, @, tab or
    CR in a string; ints, floats and None unchanged."""
    if not isinstance(value, str):
        return value
    text = printable(value)  # `cat summary.csv` must not drive the terminal either
    return "'" + text if value.startswith(_FORMULA) or text.startswith(_FORMULA) else text


__all__ = ["csv_cell", "printable"]

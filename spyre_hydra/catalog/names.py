"""The forms an `hf_id` and a `serve.host` may take, checked where a tree is checked.

An hf_id is what vLLM loads and what the plugin's catalog is keyed by; an empty one, `..`, a
space or a path-like segment would name a directory relative to wherever the server starts,
or nothing at all. A serve.host with a space, an empty label (`a..b`) or nothing in it would
fail only when the server binds, after seconds of engine start.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

# A Hugging Face repo id: `name` or `org/name`, each part letters, digits, `-`, `_`, `.`,
# starting with a letter or digit (so never `.`, `..` or a dotfile), at most 96 characters.
_HF_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
# A DNS host name (RFC 1123): labels of letters, digits and `-`, not starting or ending
# with `-`, joined by single dots.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def hf_id_problem(value: Any) -> str | None:
    """Why ``value`` is not a Hugging Face id (``org/name``), or None."""
    if not isinstance(value, str):
        return None  # the type check reports it
    parts = value.split("/")
    if value and len(parts) <= 2 and all(_HF_PART.fullmatch(p) for p in parts) \
            and ".." not in value:
        return None
    return (f"{value!r} is not a Hugging Face id: it must be `name` or `org/name`, each part "
            "letters, digits, '-', '_' or '.', starting with a letter or digit (no spaces, no "
            "'..', no empty part).")


def host_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a listen address, or None."""
    if not isinstance(value, str):
        return None
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    if value and len(value) <= 253 and all(_LABEL.fullmatch(label) for label in labels):
        return None
    return (f"{value!r} is not a host name or IP address (letters, digits and '-' in labels "
            "joined by single dots; no spaces, no empty label).")


__all__ = ["host_problem", "hf_id_problem"]

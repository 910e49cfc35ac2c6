"""Data stays data: text from users' files never becomes an OmegaConf interpolation or shell code.

- :func:`escape` turns every ``${`` of a string into OmegaConf's escaped form, so a legacy
  value ``${oc.env:SECRET}`` written into a conf tree is read back by Hydra as that literal
  text, never resolved. :func:`unescape` is its inverse for trees read without resolution.
- :func:`shell_assign` / :func:`shell_default` quote every value for a POSIX shell and refuse
  names a shell would parse as code (``X=1; touch y``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from spyre_hydra.errors import SpyreHydraError

#: A name `export NAME=...` accepts: POSIX portable env var names.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A run of backslashes right before `${`: OmegaConf halves the run and, when it is odd,
# takes the `${` literally (`\${x}` -> `${x}`, `\\\${x}` -> `\${x}`, `\\${x}` -> `\` + x).
_BEFORE_INTER = re.compile(r"(\\*)\$\{")


class ShellNameError(SpyreHydraError):
    """A name that cannot be a shell variable (it would be parsed as code)."""


def escape(value: Any) -> Any:
    """``value`` with every string (keys included) made interpolation-free for OmegaConf."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        return _BEFORE_INTER.sub(lambda m: "\\" * (2 * len(m.group(1)) + 1) + "${", value)
    if isinstance(value, Mapping):
        return {escape(k): escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape(v) for v in value]
    return value


def _is_escaped(value: str) -> bool:
    return all(len(m.group(1)) % 2 for m in _BEFORE_INTER.finditer(value))


def unescape(value: Any) -> Any:
    """What OmegaConf resolves an :func:`escape`-d value to. Strings holding a live
    interpolation (written by a user on purpose) are left as they are."""
    if isinstance(value, str):
        if "${" not in value or not _is_escaped(value):
            return value
        return _BEFORE_INTER.sub(lambda m: "\\" * (len(m.group(1)) // 2) + "${", value)
    if isinstance(value, Mapping):
        return {unescape(k): unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape(v) for v in value]
    return value


def is_env_name(name: Any) -> bool:
    """True when ``name`` is a POSIX env var name (letters, digits, _; no leading digit)."""
    return isinstance(name, str) and ENV_NAME.fullmatch(name) is not None


def env_name_message(name: Any, where: str) -> str:
    """Why ``name`` is refused, for a Problem or an error message."""
    return (f"env var name {name!r} at {where} is not a POSIX name ([A-Za-z_][A-Za-z0-9_]*); "
            "a shell would run part of it as a command.")


def check_env_name(name: Any, where: str = "env_vars") -> str:
    """``name`` itself, or ShellNameError naming it and the fix."""
    if not is_env_name(name):
        raise ShellNameError(env_name_message(name, where) + " Fix: rename it (letters, "
                             "digits and _ only, not starting with a digit).")
    return name


def shell_assign(name: str, value: Any, where: str = "env_vars") -> str:
    """``NAME='value'`` for a POSIX shell: the name checked, the value always quoted."""
    return f"{check_env_name(name, where)}={shlex.quote(str(value))}"


def shell_export(name: str, value: Any, where: str = "env_vars") -> str:
    """``export NAME='value'``."""
    return "export " + shell_assign(name, value, where)


def shell_default(name: str, value: Any, where: str = "env_vars") -> str:
    """Sets NAME to ``value`` only when it is unset or empty, then exports it (quoted)."""
    check_env_name(name, where)
    return (f'if [ -z "${{{name}:-}}" ]; then {name}={shlex.quote(str(value))}; fi; '
            f"export {name}")


def split_words(text: str, variable: str) -> list[str]:
    """``text`` split as a POSIX shell splits words (quotes group, no expansion): the
    overrides in an env var such as SPYRE_HYDRA_OVERRIDES. A value a shell could not split
    (an unclosed quote, a trailing backslash) is one paragraph naming the variable, the
    value and the fix, never shlex's traceback."""
    from spyre_hydra.errors import UnknownOptionError

    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UnknownOptionError(
            f"{variable}={text!r}: cannot be split into overrides ({str(exc).lower()}). Its "
            "value is read as a shell would read a command line: quotes must be closed and a "
            "backslash must not end it. Fix: close the quote or drop the stray one, e.g. "
            f"{variable}=\"model=granite_8b device=tp4 'prompts=[a b]'\"") from None


__all__ = ["ENV_NAME", "ShellNameError", "check_env_name", "env_name_message", "escape",
           "is_env_name", "shell_assign", "shell_default", "shell_export", "split_words",
           "unescape"]

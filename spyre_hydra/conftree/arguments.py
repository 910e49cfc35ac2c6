"""Arguments of the Python API (compose, check_point, compose_launch, get_model_registry)
checked before use, so a wrong type is a named error, not a TypeError from deep inside Hydra.

:class:`ArgumentTypeError` is a SpyreHydraError and a TypeError: callers catching either
keep working.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from spyre_hydra.errors import SpyreHydraError

_EXAMPLE = '["model=granite_8b", "device=tp4"]'


class ArgumentTypeError(SpyreHydraError, TypeError):
    """A Python API argument of the wrong type (overrides, conf_dir, environ)."""


def _kind(value: Any) -> str:
    return type(value).__name__


def check_overrides(value: Any, func: str) -> list[str]:
    """``value`` as a list of override strings, or ArgumentTypeError naming the item."""
    if isinstance(value, (str, bytes)):
        raise ArgumentTypeError(
            f"{func}(overrides={value!r:.60}): overrides is one {_kind(value)}, not a list of "
            f"overrides. Fix: pass a list, e.g. {func}({_EXAMPLE}) (or {value!r:.40}.split() "
            "for a space-separated line)")
    try:
        items = list(value)
    except TypeError:
        raise ArgumentTypeError(
            f"{func}(overrides={value!r:.60}): overrides must be a list of strings, not "
            f"{_kind(value)}. Fix: {func}({_EXAMPLE})") from None
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ArgumentTypeError(
                f"{func}: overrides[{i}] is {item!r:.60} ({_kind(item)}); each override is a "
                f"string key=value. Fix: {func}({_EXAMPLE})")
    return items


def check_conf_dir(value: Any, func: str) -> None:
    """None, a non-empty str or an os.PathLike; anything else is ArgumentTypeError."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise ArgumentTypeError(
            f"{func}(conf_dir={value!r:.60}): conf_dir must be a path (str or pathlib.Path) "
            f"or None, not {_kind(value)}. Fix: conf_dir=\"my_conf\" (a conf tree such as "
            "the output of `spyre-hydra import-legacy`), or leave it out")
    if value is not None and not os.fspath(value):  # "" would be the cwd
        raise ArgumentTypeError(
            f"{func}(conf_dir={value!r}): conf_dir is empty, which would read the current "
            "directory as a conf tree. Fix: conf_dir=\"my_conf\" (a conf tree), or leave it "
            "out (None) for the shipped one")


def check_environ(value: Any, func: str) -> None:
    """None or a mapping of str to str (like os.environ)."""
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(
            f"{func}(environ={value!r:.60}): environ must be a mapping like os.environ, not "
            f"{_kind(value)}. Fix: environ={{\"FLEX_HDMA_P2PSIZE\": \"1\"}}, or leave it out "
            "to read os.environ")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ArgumentTypeError(
                f"{func}: environ[{key!r:.40}] = {item!r:.40}: environment names and values "
                f"are strings. Fix: environ={{{str(key)!r:.40}: {str(item)!r:.40}}}")


__all__ = ["ArgumentTypeError", "check_conf_dir", "check_environ", "check_overrides"]

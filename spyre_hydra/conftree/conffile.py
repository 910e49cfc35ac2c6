"""The one reader of a conf file: bounded, duplicate keys refused, its defaults list checked."""

from __future__ import annotations

from pathlib import Path

import yaml

from spyre_hydra.errors import ConfigValidationError, Problem
from spyre_hydra.io.reading import InputError, load_yaml


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that refuses duplicate keys, as OmegaConf (and so Hydra) does."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value
            if isinstance(key, str) and key in seen and key != "<<":
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _default_entry(entry) -> bool:
    """A defaults-list item Hydra accepts: `name`, or `{group: option | [options] | null}`."""
    if isinstance(entry, str):
        return True
    if not isinstance(entry, dict) or len(entry) != 1:
        return False
    (key, value), = entry.items()
    return isinstance(key, str) and (value is None or isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)))


def read_conf_file(path: Path) -> dict:
    """One conf file as a mapping: bounded, duplicate keys refused, its defaults list
    well-formed; every failure is a ConfigValidationError naming file (and line)."""
    try:
        data = load_yaml(path, _Loader, what="conf file")  # bounded: size, kind, aliases
    except InputError as exc:
        raise ConfigValidationError([Problem(exc.path, exc.why, "", exc.fix)],
                                    "cannot read the conf tree") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigValidationError([Problem(where, f"malformed YAML: {problem}.", "",
                                             "fix the YAML syntax at that line")],
                                    "cannot read the conf tree") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigValidationError([Problem(str(path), "must hold a mapping at the top.", "",
                                                 "write key: value lines (a config file is a mapping)")],
                                    "cannot read the conf tree")
    defaults = data.get("defaults", [])
    bad = [e for e in defaults if not _default_entry(e)] if isinstance(defaults, list) else [
        defaults]
    if bad:  # Hydra would end in a ValueError/TypeError trace on these
        what = "must be a list" if not isinstance(defaults, list) else (
            f"has entries that are neither a config name nor group: option ({bad[0]!r})")
        raise ConfigValidationError([Problem(f"{path}: defaults", f"{defaults!r} {what}.", "",
                                             "write defaults: [family/base@_here_, _self_] "
                                             "or remove it")], "cannot read the conf tree")
    return data


__all__ = ["read_conf_file"]

"""The one reader of a conf file: bounded, duplicate keys refused, its defaults list checked."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from spyre_hydra.errors import ConfigValidationError, Problem
from spyre_hydra.io.reading import InputError, load_yaml
from spyre_hydra.io.yaml11 import Yaml11Guard, describe


class _Yaml11(Exception):
    """Plain scalars YAML 1.1 and 1.2 read differently (io/yaml11.py): the file is refused."""

    def __init__(self, found):
        super().__init__(found)
        self.found = found


class _Loader(Yaml11Guard, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that reads scalars as OmegaConf's loader (and so Hydra) does: duplicate
    keys refused, `1e3` a float, `2024-01-01` text; YAML 1.1-only scalars noted."""

    def construct_document(self, node):
        data = super().construct_document(node)
        if self.__dict__.get("yaml11"):
            raise _Yaml11(self.yaml11)
        return data

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value
            if isinstance(key, str) and key in seen and key != "<<":
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.guard()
# OmegaConf's loader drops PyYAML's timestamp resolver and reads exponent floats without a
# dot or a signed exponent (1e3, 1.5e3); the catalog's reader must read what Hydra reads.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9]+(?:_[0-9]+)*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


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
    except _Yaml11 as exc:
        problems = []
        for node, text, value in exc.found:
            what, fix = describe(text, value)
            mark = node.start_mark
            problems.append(Problem(f"{path}:{mark.line + 1}:{mark.column + 1}", what, "", fix))
        raise ConfigValidationError(problems, "cannot read the conf tree") from None
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

"""Expand a sweep's arguments into points with Hydra's own override grammar.

Every argument is parsed by Hydra's OverridesParser, so `a,b`, `range(1,5)`, `glob(g*)`,
`choice(...)` and quoting mean what they mean in Hydra. Two additions:

- shape triples are one value: `runtime.warmup_shapes=[64,8,1],[128,8,2]` is two points of
  one shape each (`[[64,8,1]]` and `[[128,8,2]]`), as `[[64,8,1]],[[128,8,2]]` already was;
- `sweep.zip=[a,b]` moves the listed axes together (the i-th value of each) instead of taking
  their product; all zipped axes must have the same number of values.
"""

from __future__ import annotations

import itertools
from typing import Any

from spyre_hydra.errors import SpyreHydraError

SHAPES_KEY = "runtime.warmup_shapes"
ZIP_KEY = "sweep.zip"


class SweepDefinitionError(SpyreHydraError):
    """The sweep's arguments do not describe a set of points."""


def _is_triple(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value)


def _shape_text(value: Any) -> str:
    """`[[64,8,1]]` from a parsed triple or list of triples (no spaces: one shell word)."""
    shapes = [value] if _is_triple(value) else value
    return "[" + ",".join("[" + ",".join(str(int(x)) for x in s) + "]" for s in shapes) + "]"


def _values(override) -> list[str]:
    """The `key=value` strings of one override (one for a plain override)."""
    key = override.get_key_element()
    if not override.is_sweep_override():
        if override.key_or_group == SHAPES_KEY and _is_triple(override.value()):
            return [f"{key}={_shape_text(override.value())}"]
        return [f"{key}={override.get_value_element_as_str()}"]
    if not override.is_discrete_sweep():
        raise SweepDefinitionError(
            f"{override.input_line!r}: an {override.value_type.name.split('_')[0].lower()} "
            "sweep has no list of "
            "points. Fix: use a,b,c lists, range(start,stop[,step]), glob(pattern) or "
            "choice(a,b).")
    if override.key_or_group == SHAPES_KEY:
        return [f"{key}={_shape_text(v)}" for v in override.sweep_iterator()]
    return [f"{key}={v}" for v in override.sweep_string_iterator()]


def zip_keys(arguments: list[str]) -> list[str]:
    """The axes named by a `sweep.zip=[a,b]` argument (last one wins), else []."""
    found: list[str] = []
    for arg in arguments:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+") == ZIP_KEY:
            found = [v.strip() for v in value.strip().strip("[]").split(",") if v.strip()]
    return found


def expand(arguments: list[str], parser) -> list[list[str]]:
    """Every point's override list: later arguments for a key replace earlier ones, axes are
    crossed in first-appearance order, zipped axes advance together at the first one's place."""
    zipped = zip_keys(arguments)
    axes: dict[str, list[str]] = {}
    for override in parser.parse_overrides(arguments):
        axes[override.get_key_element().lstrip("+~")] = _values(override)
    bare = {k.lstrip("+~"): k for k in axes}
    unknown = [k for k in zipped if k not in bare]
    if unknown:
        raise SweepDefinitionError(
            f"sweep.zip names {', '.join(unknown)}, which the sweep does not set. Fix: zip "
            f"axes the sweep sets (here: {', '.join(k for k in bare if k != ZIP_KEY)}).")
    if zipped:
        sizes = {k: len(axes[k]) for k in zipped}
        if len(set(sizes.values())) > 1:
            raise SweepDefinitionError(
                "sweep.zip axes have different numbers of values: " + ", ".join(
                    f"{k} has {n}" for k, n in sizes.items()) + ". Fix: give each zipped axis "
                "the same number of values, or drop sweep.zip to sweep their product.")
    lists: list[list[list[str]]] = []
    for key, values in axes.items():
        if key in zipped[1:]:
            continue  # carried along by the first zipped axis
        if zipped and key == zipped[0]:
            lists.append([[axes[k][i] for k in zipped] for i in range(len(values))])
        else:
            lists.append([[v] for v in values])
    return [[item for group in combo for item in group] for combo in itertools.product(*lists)]


def varying_keys(points: list[list[str]]) -> frozenset[str]:
    """Override keys whose value differs between points (what a label needs to show)."""
    values: dict[str, set] = {}
    for point in points:
        for item in point:
            key, _, value = str(item).partition("=")
            values.setdefault(key, set()).add(value)
    return frozenset(k for k, v in values.items() if len(v) > 1)

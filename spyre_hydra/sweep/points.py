"""Expand a sweep's arguments into points with Hydra's own override grammar.

Every argument is parsed by Hydra's OverridesParser, so `a,b`, `range(1,5)`, `glob(g*)`,
`choice(...)` and quoting mean what they mean in Hydra. Two additions:

- shape triples are one value: `runtime.warmup_shapes=[64,8,1],[128,8,2]` is two points of
  one shape each (`[[64,8,1]]` and `[[128,8,2]]`), as `[[64,8,1]],[[128,8,2]]` already was;
- `sweep.zip=[a,b]` moves the listed axes together (the i-th value of each) instead of taking
  their product; all zipped axes must have the same number of values, each named once.

A sweep has at most `sweep.max_points` points (MAX_POINTS unless set): the count is taken
from the axes' sizes before any value is listed, so `range(1,10000000)` is refused at once.
"""

from __future__ import annotations

import decimal
import itertools
import math
import re
from typing import Any

from spyre_hydra.errors import SpyreHydraError

SHAPES_KEY = "runtime.warmup_shapes"
ZIP_KEY = "sweep.zip"
MAX_POINTS_KEY = "sweep.max_points"
#: Points a sweep may have unless sweep.max_points says otherwise (each is composed and
#: checked before any job starts).
MAX_POINTS = 100_000


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


def max_points(config) -> int:
    """sweep.max_points of the composed tree (MAX_POINTS when unset); a positive integer."""
    node = config.get("sweep") if hasattr(config, "get") else None
    value = node.get("max_points") if hasattr(node, "get") else None
    if value is None:
        return MAX_POINTS
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SweepDefinitionError(f"{MAX_POINTS_KEY}={value!r} is not a positive number of "
                                   f"points. Fix: {MAX_POINTS_KEY}=<N >= 1> (default "
                                   f"{MAX_POINTS}).")
    return value


def zip_keys(arguments: list[str]) -> list[str]:
    """The axes named by a `sweep.zip=[a,b]` argument (last one wins), else []."""
    found: list[str] = []
    for arg in arguments:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+") == ZIP_KEY:
            found = _zip_axes(value)
    return found


def _zip_axes(value: str) -> list[str]:
    """The axis names of one sweep.zip value: a single flat list (one zip per sweep)."""
    text = value.strip()
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if "[" in inner or "]" in inner:
        flat = [v.strip() for v in re.split(r"[\[\],]", inner) if v.strip()]
        raise SweepDefinitionError(
            f"{ZIP_KEY}={value} is not a flat list of axis names; {ZIP_KEY} takes one list "
            f"of the axes that move together (a sweep has one zip), e.g. "
            f"{ZIP_KEY}=[device,max_tokens]. Fix: {ZIP_KEY}=[{','.join(flat)}] to move them "
            f"all together, or drop {ZIP_KEY} and sweep the product.")
    return [v.strip() for v in inner.split(",") if v.strip()]


def _count(override) -> int:
    """How many values an override gives, without listing a range."""
    if not override.is_sweep_override():
        return 1
    value = override.value()
    start, stop, step = (getattr(value, k, None) for k in ("start", "stop", "step"))
    if isinstance(start, (int, float)) and isinstance(stop, (int, float)) and \
            isinstance(step, (int, float)) and step != 0:
        if all(isinstance(v, int) for v in (start, stop, step)):
            return len(range(start, stop, step))
        span = (decimal.Decimal(stop) - decimal.Decimal(start)) / decimal.Decimal(step)
        return max(0, math.ceil(span))
    items = getattr(value, "list", None)
    return len(items) if isinstance(items, list) else len(_values(override))


def _check_zip(zipped: list[str], counts: dict[str, int]) -> None:
    twice = sorted({k for k in zipped if zipped.count(k) > 1})
    if twice:
        once = list(dict.fromkeys(zipped))
        raise SweepDefinitionError(
            f"sweep.zip=[{','.join(zipped)}] names {', '.join(twice)} more than once; an axis "
            f"moves with the others once. Fix: sweep.zip=[{','.join(once)}].")
    unknown = [k for k in zipped if k not in counts]
    if unknown:
        raise SweepDefinitionError(
            f"sweep.zip names {', '.join(unknown)}, which the sweep does not set. Fix: zip "
            f"axes the sweep sets (here: {', '.join(k for k in counts if k != ZIP_KEY)}).")
    sizes = {k: counts[k] for k in zipped}
    if len(set(sizes.values())) > 1:
        raise SweepDefinitionError(
            "sweep.zip axes have different numbers of values: " + ", ".join(
                f"{k} has {n}" for k, n in sizes.items()) + ". Fix: give each zipped axis "
            "the same number of values, or drop sweep.zip to sweep their product.")


def _check_size(counts: dict[str, int], zipped: list[str], max_points: int) -> None:
    sizes = {k: n for k, n in counts.items() if k not in zipped[1:]}
    total = math.prod(sizes.values())
    if total > max_points:
        big = sorted(((n, k) for k, n in sizes.items() if n > 1), reverse=True)[:3]
        raise SweepDefinitionError(
            f"the sweep has {total:,} points (" + ", ".join(f"{k}: {n:,} values"
                                                         for n, k in big)
            + f"), over {MAX_POINTS_KEY}={max_points}; every point is composed and checked "
            f"before any job starts. Fix: sweep fewer values, or raise the bound with "
            f"{MAX_POINTS_KEY}=<N> (N >= {total}).")


def expand(arguments: list[str], parser, max_points: int = MAX_POINTS) -> list[list[str]]:
    """Every point's override list: later arguments for a key replace earlier ones, axes are
    crossed in first-appearance order, zipped axes advance together at the first one's place.
    SweepDefinitionError for a repeated or unknown zip axis and for more than max_points."""
    zipped = zip_keys(arguments)
    parsed: dict[str, Any] = {}
    for override in parser.parse_overrides(arguments):
        parsed[override.get_key_element().lstrip("+~")] = override
    counts = {k: _count(o) for k, o in parsed.items()}
    if zipped:
        _check_zip(zipped, counts)
    _check_size(counts, zipped, max_points)
    axes = {k: _values(o) for k, o in parsed.items()}
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

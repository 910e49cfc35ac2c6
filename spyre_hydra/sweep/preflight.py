"""Sweep pre-flight results: the points, the bad ones, and the refusal message.

The sweeper (sweeper.py, run.py) expands the points and checks each once (compose.py);
this module holds what it found and words the refusal: a bad point stops the sweep before
any job directory exists, unless `sweep.skip_unsupported=true`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from spyre_hydra.errors import SpyreHydraError


class SweepError(SpyreHydraError):
    """A sweep refused before it starts: lists every bad point."""


#: Seconds between "pre-flight: N/M points checked" lines: a long pre-flight is never silent.
PROGRESS_EVERY_S = 5.0


class Ticker:
    """The pre-flight's progress line, at most once per PROGRESS_EVERY_S (none for a
    pre-flight shorter than that)."""

    def __init__(self, total: int, clock=time.monotonic):
        self.total, self.clock = total, clock
        self.last = clock()

    def tick(self, done: int) -> str | None:
        """The line to print after `done` points, or None."""
        now = self.clock()
        if now - self.last < PROGRESS_EVERY_S or done >= self.total:
            return None
        self.last = now
        return f"pre-flight: {done}/{self.total} points checked"


@dataclass
class Preflight:
    """The expanded sweep: one override list per job, and the points that failed checks."""

    points: list[list[str]]
    bad: dict[int, str] = field(default_factory=dict)  # plan refused: skippable
    broken: dict[int, str] = field(default_factory=dict)  # never skipped: Hydra cannot
    # compose it, or its checkpoint cannot be loaded here (the fix is the user's)
    plans: dict[int, Any] = field(default_factory=dict)  # the LaunchPlan of each good point

    def refused(self, skip: bool) -> bool:
        """Whether the sweep must stop before it starts."""
        return bool(self.broken or (self.bad and not skip))

    def varying(self) -> frozenset[str]:
        """Override keys whose value differs between points (what a label needs to show)."""
        values: dict[str, set] = {}
        for point in self.points:
            for item in point:
                key, _, value = str(item).partition("=")
                values.setdefault(key, set()).add(value)
        return frozenset(k for k, v in values.items() if len(v) > 1)

    def describe(self, index: int) -> str:
        return point_label(self.points[index], self.varying())


def point_label(overrides, keys=frozenset()) -> str:
    """`device=tp4 runtime.warmup_shapes=[[6144,2048,1]]`: the swept part of one point."""
    items = [str(o) for o in overrides]
    shown = [o for o in items if o.partition("=")[0] in keys]
    return " ".join(shown or items)


def plural(count: int, noun: str) -> str:
    """`1 point`, `2 points`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def short(text: str, limit: int = 160) -> str:
    """The first sentence of an error's first line, for one-line progress output."""
    line = " ".join(part.strip() for part in (text or "").strip().splitlines())
    if len(line) > limit and ". " in line:
        line = line[:line.index(". ") + 1]
    return line if len(line) <= limit else line[:limit - 3] + "..."


def skip_unsupported(cfg) -> bool:
    """True when the sweep should run its valid points and report the bad ones as skipped."""
    node = cfg.get("sweep") if hasattr(cfg, "get") else None
    return bool(node and node.get("skip_unsupported"))


def explore(cfg) -> bool:
    """True when the sweep may run layouts the catalog does not list (sweep.explore=true)."""
    node = cfg.get("sweep") if hasattr(cfg, "get") else None
    return bool(node and node.get("explore"))


def point_problems(plan, tree) -> list[str]:
    """What the plan (a LaunchPlan) accepts with a warning but a sweep refuses: unsupported
    layouts (unless sweep.explore=true, or a profile run as measured), lengths past the
    model's positions, a mode that cannot be a sweep job."""
    from spyre_hydra.conftree.modes import mode_spec

    problems = []
    if not plan.supported and not explore(tree) and plan.layout != "tune-measured":
        problems.append(next((w for w in plan.warnings if "does not support" in w),
                             "the registry has no entry for this layout")
                        .replace(" Running without the model's device settings.", ""))
    arch = tree["model"]["architecture"]
    limit = arch.get("max_position_embeddings") if hasattr(arch, "get") else None
    length = plan.args.get("max_model_len")
    if isinstance(limit, int) and isinstance(length, int) and length > limit:
        what = ("prompt_len + new_tokens of the largest warmup shape" if plan.runtime ==
                "static" else "max_model_len")
        problems.append(f"{what} = {length} exceeds the model's max_position_embeddings "
                        f"{limit} (model.architecture.max_position_embeddings). Fix: use "
                        f"shapes/lengths up to {limit}.")
    if mode_spec(plan.mode).server:
        problems.append(f"mode={plan.mode} cannot be swept (a server never ends). Fix: "
                        "mode=plan, config or generate.")
    return problems


#: The registry's lists of a model's entries, the same for every point of that model: the
#: "does not support" tail of an unsupported layout, and "<hf_id> supports: ..." of a
#: missing default.
_SUPPORTED = re.compile(r"\. Supported at [^:]*: .*?\. All: (?P<all>.*?)\. "
                        r"Fix: choose one of those \((?P<how>[^)]*)\)\.")
_SUPPORTS = re.compile(r" (?P<model>\S+) supports: (?P<all>.*?)\. (?=Fix: )")


def _split_supported(error: str, models: dict[str, list[str]], hows: list[str]) -> str:
    """The error without its list of supported entries, which goes into `models` once."""
    match = _SUPPORTED.search(error)
    if match:
        head = error[:match.start()]
        name = head.split(" does not support ")[0]
        hf_id = re.search(r"\(([^()\s]+)\)$", name)
        models.setdefault(hf_id[1] if hf_id else name, match["all"].split("; "))
        if match["how"] not in hows:
            hows.append(match["how"])
        return head + "." + error[match.end():]
    match = _SUPPORTS.search(error)
    if match:
        models.setdefault(match["model"], match["all"].split("; "))
        return error[:match.start()] + " " + error[match.end():]
    return error


def refusal(result: Preflight) -> SweepError:
    """The error that stops a sweep with bad points: one line per point, then each model's
    supported entries once, then the way out."""
    errors = {**result.bad, **result.broken}
    verb = "is" if len(errors) == 1 else "are"
    points = plural(len(result.points), "sweep point")
    lines = [f"{len(errors)} of {points} {verb} invalid; no job was started:"]
    models: dict[str, list[str]] = {}
    hows: list[str] = []
    for index, error in sorted(errors.items()):
        text = " ".join(part.strip() for part in
                        _split_supported(error, models, hows).splitlines())
        lines.append(f"  - job {index} ({result.describe(index)}): {text}")
    for model, entries in models.items():
        lines.append(f"Supported by {model}:")
        lines += [f"    {entry}" for entry in entries]
    lines.append("Fix: " + (f"use supported values ({' / '.join(hows)}) or drop those points"
                            if hows else "change or drop those values") + (
        "" if result.broken else ", or add sweep.skip_unsupported=true to run the other "
        "points and report these as skipped") + "; mode=plan shows each plan.")
    return SweepError("\n".join(lines))

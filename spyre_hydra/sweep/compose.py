"""Compose, plan and check one sweep point: `PointComposer.check(point)` is the one step.

Hydra composes in two stages: the defaults list (group options, deletions, hydra.*), then
the value overrides on top, in struct mode. Only the first stage is slow and it depends only
on the group choices, so it runs once per distinct set of group overrides (through the
public ConfigLoader.load_sweep_config); value overrides are applied to a copy with OmegaConf
exactly as Hydra applies them (tests/sweep/test_sweep_compose.py compares both).

Planning goes through the front door's `plan_from_config`, so a point passes exactly the
checks a single launch does, plus the sweep's own (pointplan.py).
"""

from __future__ import annotations

import contextlib
import copy
import re
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from spyre_hydra.conftree.hydra_adapter import ABSENT, raw_value
from spyre_hydra.errors import SpyreHydraError
from spyre_hydra.sweep.pointplan import NotLoadableError, PointError, plan_point


@dataclass
class Checked:
    """The outcome of composing and checking one point."""

    point: list[str]
    plan: Any = None  # the point's LaunchPlan
    config: DictConfig | None = None
    bad: str | None = None      # refused by a check: skippable with sweep.skip_unsupported
    broken: str | None = None   # Hydra cannot compose it, or no checkpoint: never skipped


def _dirname_is_set(cfg: DictConfig) -> bool:
    """Hydra 1.3 writes hydra.job.override_dirname at compose; 1.4 leaves it as
    `${hydra_override_dirname:}`, which reads hydra.overrides.task when asked."""
    return not OmegaConf.is_interpolation(cfg.hydra.job, "override_dirname")


def _set_task(cfg: DictConfig, parsed) -> None:
    """hydra.overrides.task and hydra.job.override_dirname of the point, as Hydra sets them."""
    with read_write(cfg.hydra), open_dict(cfg.hydra):
        cfg.hydra.overrides.task = [o.input_line for o in parsed]
        if _dirname_is_set(cfg):
            cfg.hydra.job.override_dirname = _dirname(parsed, cfg)


def _dirname(parsed, cfg) -> str:
    """hydra.job.override_dirname as Hydra's compose computes it."""
    conf = cfg.hydra.job.config.override_dirname
    lines = sorted(o.input_line for o in parsed if o.key_or_group not in conf.exclude_keys)
    return re.sub("[=]", conf.kv_sep, conf.item_sep.join(lines))


def _apply(override, cfg: DictConfig) -> None:
    """One value override, with the rules of Hydra's compose (struct mode, + and ++)."""
    key, value = override.key_or_group, override.value()
    if override.is_add():
        if OmegaConf.select(cfg, key, throw_on_missing=False) is not None and \
                not isinstance(value, (dict, list)):
            raise PointError(f"Could not append to config. An item is already at '{key}'. "
                             f"Fix: drop the + prefix: '{override.input_line[1:]}'.")
        OmegaConf.update(cfg, key, value, merge=True, force_add=True)
    elif override.is_force_add():
        OmegaConf.update(cfg, key, value, merge=True, force_add=True)
    else:
        try:
            OmegaConf.update(cfg, key, value, merge=True)
        except Exception:
            raise PointError(f"Could not override '{key}'. Fix: to add a key use "
                             f"+{override.input_line}.") from None


class PointComposer:
    """Composes points of one sweep; bases are memoised per distinct group choice."""

    def __init__(self, config: DictConfig, config_loader) -> None:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.config, self.loader = config, config_loader
        self.parser = OverridesParser.create(config_loader=config_loader)
        self.groups = self._groups("")
        self.bases: dict[tuple, DictConfig] = {}
        self.parsed: dict[str, Any] = {}

    def _groups(self, parent: str) -> set[str]:
        found = set()
        for name in self.loader.list_groups(parent):
            path = f"{parent}/{name}" if parent else name
            found.add(path)
            found |= self._groups(path)
        return found

    def sweep_dir_fixed(self, path: str) -> None:
        """hydra.sweep.dir was fixed after the pre-flight (a default one gets a unique
        suffix): the memoised bases take it as well, so jobs write where the sweep reads.
        Bases composed from now on get it from the master's hydra.overrides.hydra."""
        for base in self.bases.values():
            with read_write(base.hydra), open_dict(base.hydra):
                base.hydra.sweep.dir = path
                base.hydra.overrides.hydra.append(f"hydra.sweep.dir={path}")

    def structural(self, override) -> bool:
        """True when the override changes the defaults list (needs Hydra's full compose)."""
        key = override.key_or_group
        return (override.is_delete() or override.package is not None or key.startswith("hydra")
                or key in self.groups)

    def parse(self, point: list[str]) -> list:
        """Hydra's parse of each override (memoised: points share most of their strings)."""
        out = []
        for text in point:
            if text not in self.parsed:
                self.parsed[text] = self.parser.parse_overrides([text])[0]
            out.append(self.parsed[text])
        return out

    def _base(self, point: list[str], parsed) -> DictConfig:
        structural = tuple(text for text, ov in zip(point, parsed) if self.structural(ov))
        if structural not in self.bases:
            self.bases[structural] = self.loader.load_sweep_config(self.config, list(structural))
        return self.bases[structural]

    def compose(self, point: list[str]) -> DictConfig:
        """The composed tree (with its hydra node) of one point, equal to Hydra's compose:
        a copy of its memoised base with the value overrides applied."""
        parsed = self.parse(point)
        cfg = copy.deepcopy(self._base(point, parsed))
        for override in parsed:
            if not self.structural(override):
                _apply(override, cfg)
        _set_task(cfg, parsed)
        return cfg

    @contextlib.contextmanager
    def applied(self, point: list[str]):
        """The point's tree as its memoised base with the value overrides applied in place
        and undone on exit (no copy: the caller must not keep it). Falls back to compose()
        for overrides that replace a whole config node or add keys."""
        parsed = self.parse(point)
        base = self._base(point, parsed)
        values = [o for o in parsed if not self.structural(o)]
        saved = []
        for override in values:
            old = raw_value(base, override.key_or_group)
            if old is ABSENT or override.is_add() or override.is_force_add():
                break
            saved.append((override.key_or_group, old))
        else:
            dirname = base.hydra.job.override_dirname if _dirname_is_set(base) else None
            hydra_saved = (list(base.hydra.overrides.task), dirname)
            try:
                for override in values:
                    _apply(override, base)
                _set_task(base, parsed)
                yield base
            finally:
                for key, old in reversed(saved):
                    OmegaConf.update(base, key, old, merge=False)
                with read_write(base.hydra), open_dict(base.hydra):
                    base.hydra.overrides.task = hydra_saved[0]
                    if hydra_saved[1] is not None:
                        base.hydra.job.override_dirname = hydra_saved[1]
            return
        yield self.compose(point)

    def check(self, point: list[str], engine: bool = True, keep: bool = False) -> Checked:
        """Compose, plan and check one point; never raises for a bad point. With keep, the
        result holds the composed config (a copy); otherwise planning works in place."""
        result = Checked(list(point))
        try:
            with contextlib.ExitStack() as stack:
                if keep:
                    cfg = result.config = self.compose(point)
                else:
                    cfg = stack.enter_context(self.applied(point))
                try:
                    result.plan = plan_point(cfg, engine)
                except NotLoadableError as error:  # skip_unsupported would hide the fix
                    result.broken = str(error)
                except SpyreHydraError as error:
                    result.bad = str(error)
                except Exception as error:  # e.g. an interpolation that does not resolve
                    result.bad = f"{type(error).__name__}: {str(error).strip()}"
        except Exception as error:  # Hydra's own composition errors
            result.plan = result.bad = None
            result.broken = f"{type(error).__name__}: {str(error).strip()}".replace(
                "PointError: ", "")
        return result

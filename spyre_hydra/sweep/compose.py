"""Compose, plan and check one sweep point: `PointComposer.check(point)` is the one step.

Hydra composes in two stages: the defaults list (group options, deletions, hydra.*), then
the value overrides on top, in struct mode. Only the first stage is slow and it depends only
on the group choices, so it runs once per distinct set of group overrides (through the
public ConfigLoader.load_sweep_config); value overrides are applied to a copy with OmegaConf
exactly as Hydra applies them (tests/sweep/test_sweep_compose.py compares both).

The lead swaps `plan_point` for spyre_hydra.compose(...) -> LaunchPlan when it lands.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from ..errors import SpyreHydraError


class PointError(SpyreHydraError):
    """One sweep point is refused (plan or sweep check)."""


@dataclass
class Checked:
    """The outcome of composing and checking one point."""

    point: list[str]
    plan: dict[str, Any] | None = None
    config: DictConfig | None = None
    bad: str | None = None      # refused by a check: skippable with sweep.skip_unsupported
    broken: str | None = None   # Hydra cannot compose it: never skipped


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

    def _groups(self, parent: str) -> set[str]:
        found = set()
        for name in self.loader.list_groups(parent):
            path = f"{parent}/{name}" if parent else name
            found.add(path)
            found |= self._groups(path)
        return found

    def structural(self, override) -> bool:
        """True when the override changes the defaults list (needs Hydra's full compose)."""
        key = override.key_or_group
        return (override.is_delete() or override.package is not None or key.startswith("hydra")
                or key in self.groups)

    def compose(self, point: list[str]) -> DictConfig:
        """The composed tree (with its hydra node) of one point, equal to Hydra's compose."""
        parsed = self.parser.parse_overrides(list(point))
        structural = tuple(text for text, ov in zip(point, parsed) if self.structural(ov))
        if structural not in self.bases:
            self.bases[structural] = self.loader.load_sweep_config(self.config, list(structural))
        cfg = copy.deepcopy(self.bases[structural])
        for override in parsed:
            if not self.structural(override):
                _apply(override, cfg)
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.overrides.task = [o.input_line for o in parsed]
            cfg.hydra.job.override_dirname = _dirname(parsed, cfg)
        return cfg

    def check(self, point: list[str], engine: bool = True) -> Checked:
        """Compose, plan and check one point; never raises for a bad point."""
        result = Checked(list(point))
        try:
            result.config = self.compose(point)
        except Exception as error:  # Hydra's own composition errors
            result.broken = f"{type(error).__name__}: {str(error).strip()}".replace(
                "PointError: ", "")
            return result
        try:
            result.plan = plan_point(result.config, engine)
        except SpyreHydraError as error:
            result.bad = str(error)
        except Exception as error:  # e.g. an interpolation that does not resolve
            result.bad = f"{type(error).__name__}: {str(error).strip()}"
        return result


def plan_point(cfg: DictConfig, engine: bool = True) -> dict[str, Any]:
    """Plan a composed point and apply the sweep's checks (raises SpyreHydraError)."""
    from ..launch import plan_from_config
    from .preflight import point_problems

    plan = plan_from_config(cfg, cfg.hydra)
    problems = point_problems(plan, cfg)
    if engine and plan["mode"] not in ("plan",):
        problems += loadable_problems(plan)
    if problems:
        raise PointError(" ".join(problems))
    return plan


_LOADABLE: dict[tuple, list[str]] = {}


def loadable_problems(plan: dict[str, Any]) -> list[str]:
    """Engine modes: the checkpoint must be loadable on this machine (memoised per model)."""
    import os

    from ..engine.precheck import check_model

    model = str(plan["engine_args"]["model"])
    if model.startswith("builtin:"):
        return []  # built locally on first use
    env = {**os.environ, **(plan.get("backend_env") or {})}
    key = (model, plan["mode"], env.get("HF_HUB_OFFLINE"))
    if key not in _LOADABLE:
        try:
            check_model(plan["engine_args"], "serve" if plan["mode"] == "bench"
                        else plan["mode"], env)
            _LOADABLE[key] = []
        except SpyreHydraError as error:
            _LOADABLE[key] = [str(error)]
    return _LOADABLE[key]

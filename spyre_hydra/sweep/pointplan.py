"""Plan one composed sweep point and apply the sweep's own checks, and the errors that refuse
a point.

A point is planned through the front door's `plan_from_config`, so it passes exactly the
checks a single launch does; then the sweep's (preflight.point_problems) and, for engine
modes, a checkpoint this machine can load (memoised per model). compose.py composes the
point first; a job (cli/launch.py) plans its task config here too.
"""

from __future__ import annotations

from omegaconf import DictConfig

from spyre_hydra.errors import SpyreHydraError


class PointError(SpyreHydraError):
    """One sweep point is refused (plan or sweep check)."""


class NotLoadableError(PointError):
    """The point's checkpoint cannot be loaded here: the user's fix, never a skip."""


def plan_point(cfg: DictConfig, engine: bool = True, hc=None):
    """Plan a composed point and apply the sweep's checks: its LaunchPlan (raises
    SpyreHydraError). `hc`: the Hydra node, when the tree has none (a job's task config)."""
    from spyre_hydra.conftree.modes import mode_spec
    from spyre_hydra.plan.front import plan_from_config  # the single launch's own pipeline
    from spyre_hydra.sweep.preflight import point_problems

    plan = plan_from_config(cfg, cfg.hydra if hc is None else hc)
    problems = point_problems(plan, cfg)
    if problems:
        raise PointError(" ".join(problems))
    loadable = loadable_problems(plan) if engine and not mode_spec(plan.mode).in_process else []
    if loadable:
        raise NotLoadableError(" ".join(loadable))
    return plan


_LOADABLE: dict[tuple, list[str]] = {}


def loadable_problems(plan) -> list[str]:
    """Engine modes: the checkpoint must be loadable on this machine (memoised per model)."""
    import os

    from spyre_hydra.conftree.modes import mode_spec
    from spyre_hydra.plan.engine_checks import check_model

    if plan.builtin_model:
        return []  # built locally on first use
    model = str(plan.args["model"])
    env = {**os.environ, **plan.backend_env}
    mode = mode_spec(plan.mode).checks_as
    key = (model, mode, env.get("HF_HUB_OFFLINE"))
    if key not in _LOADABLE:
        try:
            check_model(plan.args, mode, env)
            _LOADABLE[key] = []
        except SpyreHydraError as error:
            _LOADABLE[key] = [str(error)]
    return _LOADABLE[key]


__all__ = ["NotLoadableError", "PointError", "loadable_problems", "plan_point"]

"""The parts of spyre-launch's sweeper (`hydra/sweeper=spyre`, the default).

Hydra only instantiates plugin classes defined under `hydra_plugins`, so the Sweeper class
itself is hydra_plugins.spyre_sweeper.spyre_sweeper.SpyreSweeper, a thin subclass of
SweeperSteps below.

It expands the arguments with Hydra's grammar (points.py), composes and checks every point
exactly once (compose.py) before anything starts, claims the sweep dir (ownership.py), then
hands the points to the configured launcher in batches. The launcher receives each point's
already-composed config through MemoLoader instead of composing it again; a remote launcher
that unpickles the loader composes it where it runs.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from hydra.core.config_loader import ConfigLoader
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from spyre_hydra.sweep import progress
from spyre_hydra.sweep.points import expand, max_points, varying_keys

#: plan of each point this process checked, by job number (jobs in this process take their
#: plan from here instead of planning again)
PLANNED: dict = {}  # job num -> the pre-flight's LaunchPlan


@dataclass
class SpyreSweeperConf:
    """hydra/sweeper=spyre."""

    _target_: str = "hydra_plugins.spyre_sweeper.spyre_sweeper.SpyreSweeper"
    params: Optional[dict] = None
    """Named-sweep axes (conf/sweep/*.yaml), applied before the command line's."""
    max_batch_size: Optional[int] = None
    """Points handed to the launcher at once (None: all)."""


class MemoLoader(ConfigLoader):
    """The sweep's ConfigLoader: gives the launcher each checked point's config from the
    pre-flight's memoised bases instead of a new full compose. For the basic launcher
    (`in_place`: one job at a time, and Hydra's run_job copies the config it is given) the
    base itself is handed out with the point's values applied, undone at the next point."""

    def __init__(self, loader: ConfigLoader, composer=None, in_place: bool = False) -> None:
        import contextlib

        self.loader, self.composer, self.in_place = loader, composer, in_place
        self.points: set[tuple] = set()
        self.stack = contextlib.ExitStack()

    def __getstate__(self) -> dict:
        # pickled for remote jobs (joblib, submitit): they compose where they run
        return {"loader": self.loader, "composer": None, "in_place": False, "points": set(),
                "stack": None}

    def close(self) -> None:
        """Undo the last in-place point."""
        if self.stack is not None:
            self.stack.close()

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]):
        key = tuple(sweep_overrides)
        if self.composer is None or key not in self.points:
            return self.loader.load_sweep_config(master_config, list(sweep_overrides))
        if not self.in_place:
            return self.composer.compose(list(key))
        self.stack.close()
        cfg = self.stack.enter_context(self.composer.applied(list(key)))
        OmegaConf.set_readonly(cfg.hydra, False)  # the last job's run_job left it read-only
        return cfg

    def load_configuration(self, *args, **kwargs):
        return self.loader.load_configuration(*args, **kwargs)

    def get_search_path(self):
        return self.loader.get_search_path()

    def get_sources(self):
        return self.loader.get_sources()

    def list_groups(self, parent_name: str):
        return self.loader.list_groups(parent_name)

    def get_group_options(self, *args, **kwargs):
        return self.loader.get_group_options(*args, **kwargs)

    def compute_defaults_list(self, *args, **kwargs):
        return self.loader.compute_defaults_list(*args, **kwargs)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, unwound like SIGINT."""


class SweeperSteps(Sweeper):
    """The Sweeper's parts; its `sweep` (the steps in run.py) is added by the plugin class,
    so that run.py, which uses these parts, is not imported back from here."""

    def __init__(self, params: Optional[dict] = None, max_batch_size: Optional[int] = None):
        self.params = dict(params or {})
        self.max_batch_size = max_batch_size
        self.config = self.hydra_context = self.launcher = None
        self.task_function = None

    def setup(self, *, hydra_context: HydraContext, task_function, config: DictConfig) -> None:
        self.config, self.task_function = config, task_function
        self.hydra_context = hydra_context

    # -- pieces run_sweep uses ------------------------------------------------------------
    def expand(self, arguments: list[str]) -> list[list[str]]:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        return expand([f"{k}={v}" for k, v in self.params.items()] + arguments, parser,
                      max_points(self.config))

    def user_sweep_dir(self) -> bool:
        """Whether the command line chose hydra.sweep.dir."""
        return any(str(o).lstrip("+").split("=", 1)[0] == "hydra.sweep.dir"
                   for o in self.config.hydra.overrides.hydra)

    def fix_sweep_dir(self) -> Path:
        """The sweep dir; a default one gets a unique suffix (two sweeps started in the same
        second never share it). Every later compose sees it through hydra.overrides."""
        path = str(self.config.hydra.sweep.dir)
        if not self.user_sweep_dir():
            path = f"{path}-{uuid.uuid4().hex[:6]}"
        with read_write(self.config.hydra), open_dict(self.config.hydra):
            self.config.hydra.sweep.dir = path
            self.config.hydra.overrides.hydra.append(f"hydra.sweep.dir={path}")
        return Path(path)

    def make_launcher(self, memo: MemoLoader):
        from hydra.core.plugins import Plugins

        context = HydraContext(config_loader=memo, callbacks=self.hydra_context.callbacks)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=context, task_function=self.task_function, config=self.config)
        return self.launcher


def batches(nums: list[int], size: Optional[int]) -> list[list[int]]:
    """Runs of consecutive job numbers, each at most `size` long (launch keeps numbering)."""
    out: list[list[int]] = []
    for num in nums:
        if out and out[-1][-1] == num - 1 and (not size or len(out[-1]) < size):
            out[-1].append(num)
        else:
            out.append([num])
    return out


def print_jsonl(plans: list[dict]) -> None:
    """One JSON plan per line on stdout."""
    for plan in plans:
        sys.stdout.write(json.dumps(plan, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class Signals:
    """SIGINT / SIGTERM during a sweep. Raised at once only where unwinding is safe (the
    pre-flight, a job waiting on its child process, a launcher whose jobs run elsewhere);
    otherwise remembered and raised at the next job boundary (`checkpoint`), so an interrupt
    never lands half-way through OmegaConf, a composed config or a write."""

    pending: Optional[int] = None  # 130 / 143 once a signal arrived
    immediate = 0                  # > 0: raise in the handler

    def __init__(self, immediate: bool = False):
        self.now, self.old = immediate, {}

    def __enter__(self):
        Signals.pending = None
        Signals.immediate += int(self.now)
        try:
            self.old = {sig: signal.signal(sig, _on_signal)
                        for sig in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread: Python delivers no signal here anyway
            self.old = {}
        return self

    def __exit__(self, *exc):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        Signals.immediate -= int(self.now)
        return False


def _interrupt(code: int) -> KeyboardInterrupt:
    return _Terminated() if code == 143 else KeyboardInterrupt()


def _on_signal(signum, _frame) -> None:
    Signals.pending = 143 if signum == signal.SIGTERM else 130
    if Signals.immediate:
        raise _interrupt(Signals.pending)


def checkpoint() -> None:
    """A job boundary: raise the interrupt a signal asked for, if one did."""
    if Signals.pending is not None:
        raise _interrupt(Signals.pending)


@contextlib.contextmanager
def interruptible():
    """A job that waits on a child process (engine, server, benchmark): a signal stops it
    at once; the child gets it too, or is stopped by the job's own cleanup."""
    checkpoint()
    Signals.immediate += 1
    try:
        yield
    finally:
        Signals.immediate -= 1


def exit_code(error: BaseException) -> int:
    """130 for SIGINT, 143 for SIGTERM."""
    return 143 if isinstance(error, _Terminated) else 130


def now() -> float:
    return time.perf_counter()


__all__ = ["SweeperSteps", "SpyreSweeperConf", "MemoLoader", "PLANNED", "progress",
           "varying_keys"]

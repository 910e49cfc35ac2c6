"""Job isolation for sweeps: every job starts from the user's environment and leaves it so.

Hydra's basic launcher (and a joblib worker) runs jobs one after another in one process. The
model settings are applied with "an existing value wins", so a tp4 job's env vars left in
os.environ would silently become the "user's" values of the next tp1 job. This callback
snapshots the process state when a job starts and puts it back when the job ends: os.environ,
the working directory, OmegaConf's resolver table and the model registries.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

#: Variables a launcher sets in its own worker processes; they are not a job's settings.
LAUNCHER_PREFIXES = ("SUBMITIT_", "LOKY_", "JOBLIB_", "SLURM_", "RAY_", "ENABLE_IPC", "BLIS_",
                     "NUMBA_", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "PYTHONBREAKPOINT",
                     "SPT_",
                     "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "KMP_", "VECLIB_", "NUMEXPR_")


@dataclass
class _Sweep:
    """What the jobs of this process may ask about (set by the callback, never by jobs)."""

    user_env: dict[str, str] | None = None
    job_start_env: dict[str, str] | None = None


_sweep = _Sweep()


def user_environment() -> dict[str, str] | None:
    """The environment the sweep was started with (None outside a sweep)."""
    return _sweep.user_env


def job_start_environment() -> dict[str, str]:
    """The environment the running job started with."""
    return dict(_sweep.job_start_env if _sweep.job_start_env is not None else os.environ)


def env_difference(env: Mapping[str, str], base: Mapping[str, str]) -> list[str]:
    """Names whose value differs between env and base, launcher bookkeeping excluded."""
    names = {k for k in set(env) | set(base) if env.get(k) != base.get(k)}
    return sorted(n for n in names if not n.startswith(LAUNCHER_PREFIXES))


def apply_settings(settings: Mapping[str, str], environ=None) -> tuple[dict, dict]:
    """Set each unset variable; return (set, kept) where kept maps to the user's value."""
    environ = os.environ if environ is None else environ
    applied, kept = {}, {}
    for key, value in settings.items():
        if key in environ:
            kept[key] = environ[key]
        else:
            environ[key] = applied[key] = str(value)
    return applied, kept


def _is_multirun(config: DictConfig) -> bool:
    from hydra.types import RunMode

    return config.hydra.get("mode") == RunMode.MULTIRUN


@dataclass
class _Snapshot:
    env: dict[str, str]
    cwd: str
    resolvers: dict
    env_set: frozenset = field(default_factory=frozenset)


def _resolver_table() -> dict:
    from omegaconf.basecontainer import BaseContainer

    return BaseContainer._resolvers  # OmegaConf keeps registered resolvers in this class dict


class IsolationCallback(Callback):
    """Hydra callback: restore process-wide state after every sweep job."""

    def __init__(self) -> None:
        self.user_env: dict[str, str] | None = None
        self._snapshot: _Snapshot | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        self.user_env = dict(os.environ)


    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        if not _is_multirun(config):
            return
        from spyre_hydra.catalog.registry import reset_registries

        # hydra.job.env_set is applied around the job by Hydra itself and undone by it.
        env_set = frozenset(str(k) for k in (config.hydra.job.get("env_set") or {}))
        self._snapshot = _Snapshot(dict(os.environ), os.getcwd(), dict(_resolver_table()),
                                   env_set)
        _sweep.user_env = self.user_env
        _sweep.job_start_env = dict(os.environ)
        reset_registries()  # a job must not see a catalog another job loaded or changed

    def on_job_end(self, config: DictConfig, job_return=None, **kwargs) -> None:
        snap, self._snapshot = self._snapshot, None
        if snap is None:
            return
        restore_environ(snap.env, skip=snap.env_set)
        if os.getcwd() != snap.cwd:
            os.chdir(snap.cwd)
        table = _resolver_table()
        table.clear()
        table.update(snap.resolvers)
        from spyre_hydra.catalog.registry import reset_registries

        reset_registries()
        _sweep.job_start_env = None


def restore_environ(saved: Mapping[str, str], skip=frozenset()) -> None:
    """Make os.environ equal to `saved` again (names in `skip` are left alone)."""
    for key in [k for k in os.environ if k not in saved and k not in skip]:
        del os.environ[key]
    for key, value in saved.items():
        if key not in skip and os.environ.get(key) != value:
            os.environ[key] = value

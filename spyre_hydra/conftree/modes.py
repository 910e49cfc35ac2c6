"""The mode table: what each `mode=` needs and which function runs it.

Plan checks (is the mode known, does it read prompts, does it check the serve port), the
sweep (in the sweep's process or a fresh one, can it be swept) and `spyre-launch --help`
read this table; adding a mode is one `register_mode(ModeSpec(...))`. Runners are named
as "module:function" and imported only when the mode runs, so the table sits below the
engine and sweep packages that implement them. A runner takes (plan, environ) and returns
the run's result (a dict for the engine modes).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class ModeSpec:
    """One mode of spyre-launch."""

    name: str
    help: str
    engine: bool = False
    """builds vLLM's VllmConfig (the engine checks and vLLM's imports run)."""
    tokenizer: bool = False
    """loads the checkpoint's tokenizer (its files are checked before vLLM starts)."""
    prompts: bool = False
    """reads prompts / prompts_file (checked at plan time, carried by the plan)."""
    server: bool = False
    """starts a server that runs until stopped (serve.port is checked; not a sweep job)."""
    in_process: bool = False
    """a sweep job runs it in the sweep's own process (else in a fresh one)."""
    sweep_only: bool = False
    """only meaningful as a sweep point (mode=bench)."""
    checkpoint_as: str | None = None
    """the engine mode whose checkpoint checks apply (bench: its server's, serve)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """env the launch adds for this mode (only where unset)."""
    runner: str | None = None
    """"module:function" run as runner(plan, environ) for a single launch."""
    sweep_runner: str | None = None
    """"module:function" a sweep job calls instead (mode=bench: server + client)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))

    @property
    def checks_as(self) -> str:
        """The mode name the engine-stage checks run with."""
        return self.checkpoint_as or self.name

    def run(self, plan, environ=None) -> Any:
        """Run a single launch of this mode."""
        return _load(self.runner, self.name)(plan, environ)


def _load(target: str | None, mode: str) -> Callable:
    if not target:
        from spyre_hydra.errors import UnknownOptionError

        raise UnknownOptionError(f"mode={mode} has no runner here. Fix: mode=plan, or run it "
                                 "as a sweep point (spyre-launch -m ...).")
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


_LOGGING = {"VLLM_LOGGING_STREAM": "ext://sys.stderr"}  # stdout carries the result only
_ENGINE = "spyre_hydra.engine.modes:run_mode"

MODES: dict[str, ModeSpec] = {}


def register_mode(spec: ModeSpec) -> ModeSpec:
    """Add (or replace) a mode in the table; returns it."""
    MODES[spec.name] = spec
    return spec


def unregister_mode(name: str) -> None:
    """Take a mode out of the table (tests that registered one)."""
    MODES.pop(name, None)


for _spec in (
    ModeSpec("plan", "print the checked plan as JSON (no torch, no vLLM)", in_process=True),
    ModeSpec("config", "build vLLM's VllmConfig and print it", engine=True, env=_LOGGING,
             runner=_ENGINE),
    # engine core in this process: no IPC, ~0.5 s faster to start
    ModeSpec("generate", "generate offline from prompts / prompts_file", engine=True,
             tokenizer=True, prompts=True, runner=_ENGINE,
             env={**_LOGGING, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}),
    ModeSpec("serve", "vLLM's OpenAI server (vllm serve) on serve.host:serve.port",
             engine=True, tokenizer=True, server=True, env=_LOGGING, runner=_ENGINE),
    ModeSpec("bench", "sweeps: a serving benchmark against a server of each point",
             sweep_only=True, checkpoint_as="serve", sweep_runner="spyre_hydra.sweep.bench:run_bench"),
):
    register_mode(_spec)


def spec_to_dict(spec: ModeSpec) -> dict[str, Any]:
    """The spec as plain data, ModeSpec(**it) rebuilds it (a sweep's fresh worker process)."""
    return {f.name: dict(getattr(spec, f.name)) if f.name == "env" else getattr(spec, f.name)
            for f in fields(spec)}


def mode_spec(name: str) -> ModeSpec:
    """The spec of a registered mode (UnknownOptionError naming the valid ones)."""
    spec = MODES.get(name)
    if spec is None:
        from spyre_hydra.errors import UnknownOptionError

        raise UnknownOptionError(f"mode {name!r} is not a mode. Valid: {', '.join(MODES)}. "
                                 "Fix: mode=plan")
    return spec


def mode_names() -> tuple[str, ...]:
    """The registered modes, in registration order."""
    return tuple(MODES)


def mode_help() -> str:
    """One line per mode, for spyre-launch --help."""
    width = max(map(len, MODES))
    return "\n".join(f"{name.ljust(width)}  {spec.help}" for name, spec in MODES.items())


__all__ = ["MODES", "ModeSpec", "mode_help", "mode_names", "mode_spec", "register_mode",
           "spec_to_dict", "unregister_mode"]

"""The project's exception hierarchy.

Every error a user can cause derives from :class:`SpyreHydraError`; the command-line entry
points print its message (never a traceback) and exit with :attr:`SpyreHydraError.exit_code`.
Messages name the key, the value, the valid options and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class SpyreHydraError(Exception):
    """Base class of every error spyre_hydra raises on bad input or unsupported requests."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One validation finding: where it is, what is wrong, and how to fix it."""

    key: str
    message: str
    source: str = ""
    fix: str = ""

    def render(self) -> str:
        where = f"{self.key}" + (f" (in {self.source})" if self.source else "")
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class ConfigValidationError(SpyreHydraError, ValueError):
    """A composed tree or a catalog entry breaks the schema; lists every problem at once.

    A ValueError too, as the plugin's ModelConfig.from_dict callers catch."""

    def __init__(self, problems: Iterable[Problem], title: str = "invalid configuration"):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{title} ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n".join([head, *("  - " + p.render() for p in self.problems)]))


class UnknownOptionError(SpyreHydraError):
    """A config group option (model=..., device=...) that does not exist."""


class VersionError(SpyreHydraError):
    """A torch_sendnn version or a version specifier that cannot be parsed or selected."""


class UnknownModelError(SpyreHydraError, RuntimeError):
    """No catalog entry matches a model (raised in strict mode or for explicit requests)."""


class UnsupportedRuntimeError(SpyreHydraError, RuntimeError):
    """The model is known but the requested tp / max_model_len / max_num_seqs / shapes are not."""


class ConfigConflictError(SpyreHydraError, RuntimeError):
    """Strict mode: a pre-existing env var or user setting differs from the model default.

    UnknownModelError, UnsupportedRuntimeError and this one are RuntimeErrors too: the
    plugin raises RuntimeError in strict mode (SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG)."""


class CatalogFileNotFoundError(SpyreHydraError, FileNotFoundError):
    """A plugin-schema model_configs.yaml named to the registry does not exist."""


class CatalogLoadError(SpyreHydraError, RuntimeError):
    """A plugin-schema model_configs.yaml that cannot be read or parsed."""


class PlatformError(SpyreHydraError):
    """The model's `platforms` exclude this machine."""


class LegacyFormatError(SpyreHydraError):
    """A plugin model_configs.yaml that cannot be imported (duplicates, None values, ...)."""


class EngineArgsError(SpyreHydraError):
    """An engine argument that vLLM's EngineArgs does not know, or that vLLM rejected."""


class EngineError(SpyreHydraError):
    """The engine (vLLM) could not load, start, generate or serve; says what, why and the fix."""


class PlanMismatchError(SpyreHydraError):
    """The VllmConfig vLLM built differs from what the plan promised (a field or env var)."""

    def __init__(self, field: str, promised, actual, fix: str = ""):
        self.field, self.promised, self.actual = field, promised, actual
        where = "the environment" if field.startswith("env.") else "vLLM's VllmConfig"
        super().__init__(f"{field}: the plan promised {promised!r} but {where} has {actual!r}."
                         + (f" Fix: {fix}" if fix else ""))


__all__ = [
    "CatalogFileNotFoundError",
    "CatalogLoadError",
    "ConfigConflictError",
    "ConfigValidationError",
    "EngineArgsError",
    "EngineError",
    "LegacyFormatError",
    "PlatformError",
    "PlanMismatchError",
    "Problem",
    "SpyreHydraError",
    "UnknownModelError",
    "UnknownOptionError",
    "UnsupportedRuntimeError",
    "VersionError",
]

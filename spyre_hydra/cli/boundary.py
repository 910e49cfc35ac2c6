"""The one error boundary of both console scripts (spyre-launch, spyre-hydra).

Whatever a user can cause ends as one paragraph on stderr and exit 2:
    <prog>: error: <what>: <why>. Fix: <how>
-- spyre_hydra's own errors, Hydra's composition / override / missing-config errors,
OmegaConf's interpolation and key errors, OSError on a user's path, a cycle (RecursionError).
Anything else is a bug: one paragraph naming the exception type, exit 3; with
SPYRE_HYDRA_DEBUG=1 the traceback follows. Ctrl-C is exit 130, SIGTERM (as KeyboardInterrupt)
likewise, without a traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

USER_ERROR, BUG, INTERRUPTED = 2, 3, 130
DEBUG_ENV = "SPYRE_HYDRA_DEBUG"
_TREE = "spyre-launch --cfg job shows the composed tree; spyre-hydra list the models"


def _first(text: Any) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return (lines[0] if lines else "").rstrip(".")


def _omegaconf(exc: BaseException) -> str | None:
    from omegaconf.errors import InterpolationResolutionError, OmegaConfBaseException

    if not isinstance(exc, OmegaConfBaseException):
        return None
    key = getattr(exc, "full_key", None) or "the configuration"
    why = _first(exc).split("    full_key")[0]
    if isinstance(exc, InterpolationResolutionError):
        return (f"{key}: an interpolation cannot be resolved: {why}. Fix: give {key} a plain "
                "value, or point its ${...} at a key that exists (" + _TREE + ")")
    return f"{key}: {why}. Fix: check the override of {key} ({_TREE})"


def _hydra(exc: BaseException) -> str | None:
    from hydra.errors import HydraException, MissingConfigException, OverrideParseException

    if isinstance(exc, MissingConfigException):
        name = getattr(exc, "missing_cfg_file", None)
        opts = getattr(exc, "options", None)
        valid = f" Valid options: {', '.join(map(str, opts))}." if opts else ""
        why = " ".join(line.strip() for line in str(exc).splitlines()
                       if line.strip() and not line.startswith(("\t", "Config search path")))
        what = f"config {name!r}" if name else "the config directory"
        return (f"{what}: {why.rstrip('.')}.{valid} Fix: name a config that exists "
                "(--config-name config for the shipped tree; --info searchpath shows where "
                "Hydra looks; spyre-hydra list shows the models)")
    if isinstance(exc, OverrideParseException):
        return (f"the command line: cannot parse an override: {_first(exc)}. Fix: write "
                "key=value, quoting values with spaces or brackets")
    if isinstance(exc, HydraException):
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        cause = exc.__cause__ or exc.__context__
        why = f": {_first(cause)}" if cause is not None and _first(cause) else ""
        hint = " ".join(lines[1:]).rstrip(".") if len(lines) > 1 else f"check the overrides ({_TREE})"
        return f"{_first(exc) or 'composing the configuration'}{why}. Fix: {hint}"
    return None


def _raised_by_hydra(exc: BaseException) -> str | None:
    """The paragraph for a ValueError/TypeError raised inside Hydra or the logging config it
    applies: there it comes from the command line (`hydra=null`, a hydra.job_logging level
    that does not exist), never from spyre_hydra's code."""
    if not isinstance(exc, (ValueError, TypeError)) or exc.__traceback__ is None:
        return None
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    where = Path(tb.tb_frame.f_code.co_filename).parts
    if "hydra" not in where and where[-2:] != ("logging", "config.py"):
        return None
    cause = exc.__cause__ or exc.__context__
    why = f" ({_first(cause)})" if cause is not None and _first(cause) else ""
    return (f"the configuration: Hydra refused it: {_first(exc)}{why}. Fix: check the hydra.* "
            "and config-group overrides (spyre-launch --cfg hydra shows Hydra's settings)")


def describe(exc: BaseException) -> tuple[int, str | None]:
    """(exit code, paragraph) for a user-caused error, or (BUG, None)."""
    from spyre_hydra.errors import SpyreHydraError

    if isinstance(exc, SpyreHydraError):
        return exc.exit_code, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, "interrupted: stopped by a signal. Fix: rerun when ready"
    text = _omegaconf(exc) or _hydra(exc) or _raised_by_hydra(exc)
    if text:
        return USER_ERROR, text
    if isinstance(exc, OSError) and exc.filename:
        return USER_ERROR, (f"{exc.filename}: {exc.strerror or _first(exc)}. Fix: choose a path "
                            "that exists and that you may read or write (e.g. "
                            "hydra.run.dir=./outputs)")
    if isinstance(exc, OSError):  # no path to name: say what failed, not "a path"
        return USER_ERROR, (f"an I/O operation on a stream or socket failed: "
                            f"{exc.strerror or _first(exc)} (errno {exc.errno}). Fix: check "
                            "what this command writes to (stdout, the output dir, a server's "
                            "connection) and free space")
    if isinstance(exc, RecursionError):
        return USER_ERROR, ("the configuration: it refers to itself (a cycle of defaults, "
                            "family bases or interpolations). Fix: remove the cycle; "
                            f"{_TREE}")
    if isinstance(exc, UnicodeError):
        return USER_ERROR, (f"a file: {_first(exc)}. Fix: save configuration and prompt "
                            "files as UTF-8 text")
    return BUG, None


def report(prog: str, exc: BaseException) -> int:
    """Print the paragraph for `exc` and return the exit code."""
    code, text = describe(exc)
    if text is None:
        text = (f"internal error ({type(exc).__name__}: {_first(exc) or 'no message'}). This "
                f"is a bug in spyre_hydra, not in your input. Fix: rerun with {DEBUG_ENV}=1 "
                "to see the traceback, and report it")
    from spyre_hydra.io.sanitize import printable

    # a value quoted from a data file must not drive the terminal
    print(f"{prog}: error: {printable(text)}", file=sys.stderr, flush=True)
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        traceback.print_exception(exc, file=sys.stderr)
    return code


def guarded(prog: str, func: Callable[..., Any], *args: Any) -> Any:
    """Run func(*args); any exception ends the process through `report` (SystemExit).
    A reader that closed stdout (`spyre-launch -m ... mode=plan | head`) ends it quietly
    with status 0, as `spyre-hydra` does."""
    from spyre_hydra.io.output import quiet_stdout, reader_gone

    try:
        return func(*args)
    except SystemExit:
        raise
    except BrokenPipeError as exc:
        if exc.filename is None and reader_gone():
            quiet_stdout()
            raise SystemExit(0) from None
        raise SystemExit(report(prog, exc)) from None
    except BaseException as exc:  # noqa: BLE001 - the boundary: everything is classified
        raise SystemExit(report(prog, exc)) from None


__all__ = ["BUG", "DEBUG_ENV", "INTERRUPTED", "USER_ERROR", "describe", "guarded", "report"]

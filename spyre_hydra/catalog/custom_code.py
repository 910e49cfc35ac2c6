"""Whether, and how, a configurator's module (user code) is imported.

A `configurator: {_target_: pkg.Class}` names code; a conf dir is data. The module is
imported only with SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1 (spyre_hydra's own classes need no
opt-in), and then only imported: the object is looked up by name, never called here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from spyre_hydra.errors import ConfigConflictError

#: The opt-in to import a configurator's module (user code) in any command.
ALLOW_CODE_ENV = "SPYRE_HYDRA_ALLOW_CUSTOM_CODE"


def custom_code_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """True when SPYRE_HYDRA_ALLOW_CUSTOM_CODE is set to a true value."""
    value = (environ if environ is not None else os.environ).get(ALLOW_CODE_ENV, "")
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"", "0", "false", "no", "off"}:
        return False
    raise ConfigConflictError(f"{ALLOW_CODE_ENV}={value!r} is not a boolean. Valid: 1, true, "
                              f"yes, on / 0, false, no, off. Fix: export {ALLOW_CODE_ENV}=1 "
                              "(or unset it).")


def import_object(target: str):
    """The object a dotted name names: the longest importable module prefix, then
    attributes. Nothing is called; importing the module is the one thing that runs."""
    import importlib

    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # only this prefix missing: try a shorter one
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                continue
            raise
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"no module in {target!r}")


def own_code(target: str) -> bool:
    """A class of spyre_hydra itself: no user code runs to import it."""
    return target.split(".")[0] == "spyre_hydra"


__all__ = ["ALLOW_CODE_ENV", "custom_code_allowed", "import_object", "own_code"]

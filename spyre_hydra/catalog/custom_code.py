"""Whether, and how, a configurator's module (user code) is imported.

A `configurator: {_target_: pkg.Class}` names code; a conf dir is data. The module is
imported only with SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1 (spyre_hydra's own classes need no
opt-in; the same switch lets a user conf file set vLLM's code arguments, conftree/codeargs.py),
and then only imported: the object is looked up by name, never called here.
"""

from __future__ import annotations

from spyre_hydra.conftree.codeargs import ALLOW_CODE_ENV, custom_code_allowed

# (the switch lives in conftree: the conf dir scan, a layer below, reads it too)


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

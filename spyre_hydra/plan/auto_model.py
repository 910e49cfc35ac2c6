"""`model=auto model_path=DIR`: the catalog option whose pattern matches DIR's config.json.

Part of the argv pre-flight (spyre_hydra.plan.argv): the override becomes `model=<option>
model.path=DIR` before Hydra composes, so the plan names the model it picked.
"""

from __future__ import annotations

import sys
from pathlib import Path

from spyre_hydra.conftree.tree import ConfTree
from spyre_hydra.errors import UnknownOptionError

PROG = "spyre-launch"


def expand_auto(model_path, tree: ConfTree) -> list[str]:
    """The overrides that replace `model=auto` (an UnknownOptionError when none fits)."""
    from spyre_hydra.catalog.registry import get_model_registry
    from spyre_hydra.io.hfconfig import read_hf_config

    if not model_path:
        raise UnknownOptionError("model=auto needs model_path=DIR (a checkpoint directory with "
                                 "config.json). Fix: add model_path=/path/to/checkpoint.")
    if not isinstance(model_path, str):  # model_path=true / =17: Hydra parsed a bool / int
        raise UnknownOptionError(
            f"model_path={model_path!r} is not a directory path (the command line reads "
            f"it as type {type(model_path).__name__}). Fix: model_path=/path/to/checkpoint "
            "(quote it, model_path='17', for a directory named like a number or true).")
    hf_config = read_hf_config(model_path)
    registry = get_model_registry(tree)
    matches = registry.match_hf_config(hf_config)
    if not matches:
        raise UnknownOptionError(
            f"model=auto: no catalog pattern matches {model_path}/config.json (model_type="
            f"{hf_config.get('model_type')!r}). Fix: pick model=<option> yourself, or add a "
            "model file (README: adding a model).")
    best = matches[0]
    ties = [m.option for m in matches[1:] if m.architecture == best.architecture]
    if ties:
        print(f"{PROG}: model=auto is ambiguous: {model_path} matches {best.option} and "
              f"{', '.join(ties)} equally; using {best.option} (priority, then catalog order). "
              f"Pass model={best.option} to silence this.", file=sys.stderr)
    elif len(matches) > 1:
        print(f"{PROG}: model=auto picked {best.option} (most specific of "
              f"{', '.join(m.option for m in matches)}).", file=sys.stderr)
    return [f"model={best.option}", f"model.path={Path(model_path).resolve()}"]


__all__ = ["expand_auto"]

"""The front door: overrides in, a checked LaunchPlan out.

    spyre_hydra.compose(["model=granite_8b", "device=tp4"]) -> LaunchPlan

`spyre-launch`, the tools, tests, sweeps and the vLLM plugin all come through here, so the
Python API answers exactly what the command line does (`mode=plan` prints
`compose(same overrides).to_dict()`). The ConfTree is built once, here (or, for a Hydra
task, from the roots Hydra searched), and passed down as one value. Nothing here imports
torch or vLLM.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from spyre_hydra.conftree.compose import compose_launch
from spyre_hydra.conftree.tree import ConfTree
from spyre_hydra.plan.launchplan import LaunchPlan


def _text(node):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node


def plan_from_config(cfg, hc, environ: Mapping[str, str] | None = None,
                     conf_tree: ConfTree | None = None) -> LaunchPlan:
    """The LaunchPlan of a composed tree, reading choices and sources from its Hydra node.
    `conf_tree`: the tree it was composed from (default: the roots Hydra searched)."""
    from spyre_hydra.conftree.hydra_adapter import searched_roots
    from spyre_hydra.conftree.roots import GROUPS
    from spyre_hydra.plan.build import build_plan
    from spyre_hydra.plan.profile import apply_profile

    tree = conf_tree if conf_tree is not None else ConfTree.of(searched_roots(hc))
    # Read as text: an override's `${...}` is the user's value, not an interpolation of
    # Hydra's own node (iterating the node would resolve it).
    choices = {k: v for k, v in _text(hc.runtime.choices).items() if v is not None}
    overrides = [str(o) for o in _text(hc.overrides.task)]
    files = {}
    for group in GROUPS:
        if choices.get(group):
            found = tree.find(group, choices[group])
            files[group] = str(found) if found else f"conf/{group}/{choices[group]}.yaml"
    devices = tuple(tree.options("device"))
    cfg, choices, files, profile = apply_profile(cfg, overrides, choices, files, tree)
    plan = build_plan(cfg, choices.get("model"), overrides, files,
                      environ, devices, {g: choices[g] for g in GROUPS if g in choices},
                      tree, profile)
    own = own_findings(plan.option, tree)
    return dataclasses.replace(plan, warnings=(*plan.warnings, *own)) if own else plan


def own_findings(option: str, tree: ConfTree) -> list[str]:
    """The catalog's tie/shadow findings about this run's model only (the rest are
    `spyre-hydra check` findings, not noise in every run)."""
    from spyre_hydra.catalog.registry import get_model_registry
    from spyre_hydra.errors import UnknownModelError

    try:
        notes = get_model_registry(tree).diagnostics_for(option)
    except UnknownModelError:  # a model outside the catalog (e.g. a replacing conf dir)
        return []
    return [f"catalog: {note} (spyre-hydra check lists every finding)" for note in notes]


def front_door(conf_dir, func: str) -> ConfTree:
    """The ConfTree of an API call's `conf_dir=` (a ConfTree, a path or None), with the
    errors the API promises: a wrong type names `func`, a missing dir says so."""
    if conf_dir is not None and not isinstance(conf_dir, ConfTree):
        from pathlib import Path

        from spyre_hydra.conftree.arguments import check_conf_dir

        check_conf_dir(conf_dir, func)
        if not Path(conf_dir).is_dir():
            from spyre_hydra.errors import UnknownOptionError

            raise UnknownOptionError(f"conf_dir {str(conf_dir)!r} is not a directory. Fix: "
                                     "pass a conf tree such as the output of `spyre-hydra "
                                     "import-legacy`.")
    return ConfTree.coerce(conf_dir, func)


def compose(overrides: Sequence[str] = (), conf_dir=None,
            environ: Mapping[str, str] | None = None) -> LaunchPlan:
    """Check the overrides as spyre-launch does (model=auto, backend=auto, version text),
    compose with Hydra and return the checked LaunchPlan; raises SpyreHydraError.
    `conf_dir`: a user conf dir (ranked before the shipped tree), a ConfTree, or None."""
    from spyre_hydra.conftree.arguments import check_environ, check_overrides
    from spyre_hydra.plan.pipeline import check_argv

    overrides = check_overrides(overrides, "spyre_hydra.compose")  # named, not a TypeError
    tree = front_door(conf_dir, "spyre_hydra.compose")
    check_environ(environ, "spyre_hydra.compose")
    checked = check_argv(list(overrides), tree)
    cfg = compose_launch(checked, tree)
    return plan_from_config(cfg, cfg.hydra, environ, tree)


def check_point(overrides: Sequence[str], conf_dir=None,
                environ: Mapping[str, str] | None = None) -> LaunchPlan:
    """One sweep point through every plan-time check (the same as a single launch)."""
    return compose(overrides, conf_dir, environ)


__all__ = ["check_point", "compose", "compose_launch", "front_door", "plan_from_config"]

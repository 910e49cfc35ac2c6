"""The front door: overrides in, a checked LaunchPlan out.

    spyre_hydra.compose(["model=granite_8b", "device=tp4"]) -> LaunchPlan

`spyre-launch`, the tools, tests, sweeps and the vLLM plugin all come through here, so the
Python API answers exactly what the command line does (`mode=plan` prints
`compose(same overrides).to_dict()`). Nothing here imports torch or vLLM.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from spyre_hydra.conftree.compose import compose_launch
from spyre_hydra.plan.launchplan import LaunchPlan


def conf_roots(hc) -> list[Path]:
    """Every file root Hydra searched: the user's conf dir (search-path plugin or
    --config-dir) as well as the shipped tree, so a user's device/tp8.yaml is valid too."""
    from spyre_hydra.conftree.roots import shipped_conf_dir

    return [Path(s.path.replace("file://", "")) for s in hc.runtime.config_sources
            if s.schema == "file"] or [shipped_conf_dir()]


def _text(node):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node


def plan_from_config(cfg, hc, environ: Mapping[str, str] | None = None) -> LaunchPlan:
    """The LaunchPlan of a composed tree, reading choices and sources from its Hydra node."""
    from spyre_hydra.conftree.roots import GROUPS, find_config, group_options
    from spyre_hydra.plan.build import build_plan

    # Read as text: an override's `${...}` is the user's value, not an interpolation of
    # Hydra's own node (iterating the node would resolve it).
    choices = {k: v for k, v in _text(hc.runtime.choices).items() if v is not None}
    overrides = [str(o) for o in _text(hc.overrides.task)]
    roots = conf_roots(hc)
    files = {}
    for group in GROUPS:
        if choices.get(group):
            found = find_config(f"{group}/{choices[group]}", roots)
            files[group] = str(found) if found else f"conf/{group}/{choices[group]}.yaml"
    devices = tuple(group_options("device", roots))
    from spyre_hydra.plan.profile import apply_profile

    cfg, choices, files, profile = apply_profile(cfg, overrides, choices, files, roots)
    plan = build_plan(cfg, choices.get("model"), overrides, files,
                      environ, devices, {g: choices[g] for g in GROUPS if g in choices},
                      roots, profile)
    own = own_findings(plan.option, roots)
    return dataclasses.replace(plan, warnings=(*plan.warnings, *own)) if own else plan


def own_findings(option: str, roots: list[Path]) -> list[str]:
    """The catalog's tie/shadow findings about this run's model only (the rest are
    `spyre-hydra check` findings, not noise in every run)."""
    from spyre_hydra.catalog.registry import get_model_registry
    from spyre_hydra.conftree.roots import shipped_conf_dir
    from spyre_hydra.errors import UnknownModelError

    user = [r for r in roots if r.resolve() != shipped_conf_dir().resolve()]
    try:
        notes = get_model_registry(user[0] if user else None).diagnostics_for(option)
    except UnknownModelError:  # a model outside the catalog (e.g. a replacing conf dir)
        return []
    return [f"catalog: {note} (spyre-hydra check lists every finding)" for note in notes]


def compose(overrides: Sequence[str] = (), conf_dir=None,
            environ: Mapping[str, str] | None = None) -> LaunchPlan:
    """Check the overrides as spyre-launch does (model=auto, backend=auto, version text),
    compose with Hydra and return the checked LaunchPlan; raises SpyreHydraError."""
    from spyre_hydra.conftree.arguments import check_conf_dir, check_environ, check_overrides
    from spyre_hydra.plan.pipeline import check_argv

    overrides = check_overrides(overrides, "spyre_hydra.compose")  # named, not a TypeError
    check_conf_dir(conf_dir, "spyre_hydra.compose")
    check_environ(environ, "spyre_hydra.compose")
    if conf_dir is not None and not Path(conf_dir).is_dir():
        from spyre_hydra.errors import UnknownOptionError

        raise UnknownOptionError(f"conf_dir {str(conf_dir)!r} is not a directory. Fix: pass a "
                                 "conf tree such as the output of `spyre-hydra import-legacy`.")
    checked = check_argv(list(overrides), conf_dir)
    cfg = compose_launch(checked, conf_dir)
    return plan_from_config(cfg, cfg.hydra, environ)


def check_point(overrides: Sequence[str], conf_dir=None,
                environ: Mapping[str, str] | None = None) -> LaunchPlan:
    """One sweep point through every plan-time check (the same as a single launch)."""
    return compose(overrides, conf_dir, environ)


__all__ = ["check_point", "compose", "compose_launch", "conf_roots", "plan_from_config"]

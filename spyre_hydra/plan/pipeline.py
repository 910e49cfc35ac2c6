"""The checks of one launch, in the order they run.

    argv     check_argv      the command line, read with Hydra's parsers, before Hydra composes
    schema   validate_tree   the composed tree against the typed schema dataclasses
    catalog  check_model     the model entry's catalog rules (run inside validate_tree)
    runtime  check_runtime   mode, runtime, sizes, version text, port, engine_args (keys the
                             tree owns; names and kinds vLLM takes: plan/engine_fields.py)
    bounds   bound_problems  lengths the model can hold (the same bounds a sweep point has)
    inputs   check_inputs    files this launch reads: model.path's config.json, prompts
    engine   check_engine    the checkpoint vLLM will load, the serve port and serve-only
                             engine_args, before vLLM

Every stage collects its problems and raises once (ConfigValidationError); a stage only runs
when the ones before it passed, so each message speaks about a tree that is otherwise valid.
`spyre_hydra.compose` runs argv..inputs; the engine stage runs in the engine side right
before `import vllm`. A sweep calls `spyre_hydra.check_point(overrides)` per point.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from spyre_hydra.catalog.configurator import strict_from_env
from spyre_hydra.catalog.validate import validate_tree
from spyre_hydra.errors import ConfigValidationError, Problem
from spyre_hydra.plan.bounds import bound_problems
from spyre_hydra.plan.engine_checks import check_model as check_engine_model
from spyre_hydra.plan.engine_checks import check_port
from spyre_hydra.plan.engine_fields import check_engine_args, check_serve_only
from spyre_hydra.plan.inputs import check_inputs
from spyre_hydra.plan.runtime import (
    check_platform,
    runtime_problems,
    with_supported,
)

STAGES = ("argv", "schema", "catalog", "runtime", "bounds", "inputs", "engine")

Sources = Callable[[str], str]


def check_argv(overrides, tree=None, multirun: bool = False) -> list[str]:
    """Stage argv: the overrides Hydra should compose from the ConfTree `tree` (None: the
    shipped one) with model=auto, backend=auto and version text rewritten, or
    UnknownOptionError / ConfigValidationError."""
    from spyre_hydra.conftree.tree import ConfTree
    from spyre_hydra.plan.argv import check_overrides

    return check_overrides(list(overrides), ConfTree.of(tree), multirun)


def check_tree(tree: Mapping, source: Sources, devices=(), unresolved=(),
               environ: Mapping[str, str] | None = None) -> tuple[bool, list[str]]:
    """Stages schema, catalog, runtime, bounds and inputs on a composed tree (plain data);
    returns (strict, warnings). `unresolved` are problems found while resolving the tree."""
    environ = os.environ if environ is None else environ
    unresolved = list(unresolved)
    problems: list[Problem] = []
    try:
        validate_tree(tree, source, devices)  # schema + catalog
        if not unresolved:
            problems = runtime_problems(tree, source)
            if not problems:
                problems = bound_problems(tree, source)
    except ConfigValidationError as error:
        problems = error.problems
    if unresolved:
        # A `selected.*` value fails to resolve because of a bad model entry: the entry's
        # own problem (naming its file) says it better than the interpolation does.
        model_broken = any(p.key.startswith("model") for p in problems)
        bad = {p.key for p in unresolved}  # its "must be a str, not null" says nothing new
        problems = [p for p in problems if p.key not in bad]
        problems += [p for p in unresolved
                     if not (model_broken and p.key.startswith("selected."))]
    if problems:
        raise ConfigValidationError([with_supported(p, tree) for p in problems])
    strict = bool(tree["strict"]) or strict_from_env(environ)
    warnings = check_engine_args(tree, source, strict)  # reserved keys, names, kinds
    warnings += [w for w in [check_platform(tree)] if w]
    warnings += check_inputs(tree, strict)  # model.path and prompts: files this launch reads
    return strict, warnings


def check_engine(engine_args: Mapping[str, Any], mode: str, serve: Mapping | None = None,
                 environ=None) -> None:
    """Stage engine: what vLLM would fail on after seconds of imports (EngineError)."""
    from spyre_hydra.conftree.modes import MODES

    spec = MODES.get(mode)
    if spec is not None and spec.server and serve is not None:
        check_port(str(serve["host"]), int(serve["port"]))
    if spec is not None and spec.engine and not spec.server:
        check_serve_only(engine_args, mode)
    check_engine_model(engine_args, mode, environ)


__all__ = ["STAGES", "check_argv", "check_engine", "check_tree"]

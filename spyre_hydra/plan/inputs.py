"""Plan-time checks of the user's inputs (checkpoint path, prompts) that need no torch/vllm.

They run before anything slow starts, so a wrong model.path or an empty prompts file is
reported in milliseconds with its key and fix instead of as a vLLM traceback later.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spyre_hydra.catalog.builtin import BUILTIN
from spyre_hydra.errors import ConfigValidationError, Problem, UnknownModelError


def read_prompts(prompts_file: Any, prompts: Any) -> list[str]:
    """prompts_file (one prompt per line, blank lines skipped) or else prompts; never empty."""
    key = "prompts"
    if prompts_file:
        key = "prompts_file"
        from spyre_hydra.io.reading import InputError, read_text_bounded

        try:  # bounded: prompts_file=/dev/zero or a fifo must not read forever
            text = read_text_bounded(Path(str(prompts_file)).expanduser(), what="prompts_file")
        except InputError as exc:
            raise ConfigValidationError([Problem(key, f"{str(prompts_file)!r} {exc.why}",
                                                 fix=f"{exc.fix}: prompts_file=<a UTF-8 text "
                                                     "file, one prompt per line>")]) from None
        found = [line for line in text.splitlines() if line.strip()]
        if not found:
            raise ConfigValidationError([Problem(key, f"{str(prompts_file)!r} holds no prompt "
                                                 "(empty or blank lines only).",
                                                 fix="write one prompt per line into it, or "
                                                     "prompts_file=null 'prompts=[Hello]'")])
        return found
    found = [str(p) for p in (prompts or [])]
    if not found:
        raise ConfigValidationError([Problem(key, "no prompt to generate from.", fix=(
            "'prompts=[Hello, my name is]' or prompts_file=FILE with one prompt per line"))])
    return found


def _builtin_problem(path: str) -> Problem | None:
    from spyre_hydra.catalog.builtin import builtin_kind, builtin_names

    if builtin_kind(path):
        return None
    valid = ", ".join(builtin_names())
    return Problem("model.path", f"{path!r} is not a builtin checkpoint. Valid: {valid}.",
                   fix="model.path=builtin:tiny_granite, or a checkpoint directory")


def _load_config(path: str) -> tuple[dict | None, Problem | None]:
    """The checkpoint's config.json, or the problem that prevents reading it."""
    from spyre_hydra.io.hfconfig import ConfigJsonError, load_config_json

    fix = "model.path=/path/to/checkpoint (a directory holding config.json)"
    if Path(path).expanduser().exists() and not Path(path).expanduser().is_dir():
        return None, Problem("model.path", f"{path!r} is not a checkpoint directory (no "
                             "config.json in it).", fix=fix)
    try:
        return load_config_json(path), None
    except ConfigJsonError as exc:
        file = str(exc.file)
        if exc.kind == "missing":
            return None, Problem("model.path", f"{path!r} does not exist.", fix=fix)
        if exc.kind == "no_config":
            return None, Problem("model.path", f"{path!r} is not a checkpoint directory (no "
                                 "config.json in it).", fix=fix)
        if exc.kind == "not_object":
            return None, Problem("model.path", f"{file!r} is not a JSON object.",
                                 fix="use the checkpoint's real config.json")
        return None, Problem("model.path", f"{file!r} cannot be read as JSON ({exc.detail}).",
                             fix="repair or re-download the checkpoint's config.json")


def architecture_diff(hf: Mapping, arch: Mapping) -> list[str]:
    """`attr=<checkpoint value> (model wants <value>)` for each attribute that differs."""
    out = []
    for key, want in arch.items():
        have = hf.get(key, "<absent>")
        if isinstance(want, Mapping):
            sub = have if isinstance(have, Mapping) else {}
            out += [f"{key}.{k}={sub.get(k, '<absent>')!r} (model wants {v!r})"
                    for k, v in want.items() if sub.get(k, object()) != v]
        elif have != want:
            out.append(f"{key}={have!r} (model wants {want!r})")
    return out


def _architecture_check(tree: Mapping, path: str, hf: dict, strict: bool) -> str | None:
    from spyre_hydra.catalog.matcher import ModelMatcher, Pattern

    model = tree["model"]
    arch = dict(model.get("architecture") or {})
    if "model_type" not in arch:  # model=auto / a model without a pattern: nothing to compare
        return None
    name = model.get("hf_id") or "the chosen model"
    if ModelMatcher.matches(hf, Pattern.from_architecture(name, arch)):
        return None
    diff = "; ".join(architecture_diff(hf, arch))
    text = (f"model.path={path!r}: the checkpoint's config.json does not match {name}'s "
            f"architecture: {diff}.")
    fix = (" Fix: point model.path at a checkpoint of that model, pick the matching model=... "
           "option, or model=auto model_path=DIR to choose the entry from the checkpoint.")
    if strict:
        raise UnknownModelError(text + fix)
    return text + " Running anyway (strict=false); the catalog's settings may not fit."


def check_inputs(tree: Mapping, strict: bool) -> list[str]:
    """Check model.path and the prompts of a composed tree; returns warnings, raises
    ConfigValidationError (every input problem at once) or UnknownModelError (strict)."""
    problems: list[Problem] = []
    warnings: list[str] = []
    path = (tree.get("model") or {}).get("path")
    if path:
        path = str(path)
        if path.startswith(BUILTIN):
            problems += [p for p in [_builtin_problem(path)] if p]
        else:
            hf, problem = _load_config(path)
            if problem:
                problems.append(problem)
            else:
                warnings += [w for w in [_architecture_check(tree, path, hf, strict)] if w]
    from spyre_hydra.conftree.modes import MODES

    spec = MODES.get(str(tree.get("mode")))
    if spec is not None and spec.prompts:
        try:
            read_prompts(tree.get("prompts_file"), tree.get("prompts"))
        except ConfigValidationError as error:
            problems += error.problems
    if problems:
        raise ConfigValidationError(problems, title="invalid input")
    return warnings

"""Which composed catalog entries become registry models.

Each entry is checked against the model schema and the catalog rules (unless the catalog
cache recorded that they passed: catalog/check_record.py), against its configurator class
when it names one (always: that imports user code), and its hf_id must be its own; every
problem of the whole catalog is collected and raised once, as one ConfigValidationError
naming file, key and fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spyre_hydra.catalog.configurator import configurator_class
from spyre_hydra.catalog.model_entry import ModelEntry
from spyre_hydra.catalog.validate import check_dataclass, check_model
from spyre_hydra.errors import ConfigValidationError, Problem


def schema_problems(entries: Mapping[str, dict[str, Any]], devices: tuple[str, ...]
                    ) -> dict[str, list[Problem]]:
    """option -> its problems against the model schema and the catalog rules: what depends
    on the entry and the device names only, which the catalog cache may record as passed
    (catalog/check_record.py)."""
    from spyre_hydra.conftree.schema import ModelSpec

    out = {}
    for option, item in entries.items():
        model, sources = item["model"], _sources(item["files"])
        found = check_dataclass(model, ModelSpec, option, sources)
        typed = {p.key for p in found}  # one message per key: the type error wins
        found += [p for p in check_model(model, option, sources, devices) if p.key not in typed]
        out[option] = found
    return out


def admit(entries: Mapping[str, dict[str, Any]], devices: tuple[str, ...],
          checked: Mapping[str, list[Problem]] | None = None
          ) -> tuple[dict[str, ModelEntry], dict[str, ModelEntry]]:
    """(models by HF id, entries by option) of the loader's entries, in catalog order.
    ``checked``: schema_problems(entries, devices) when the caller has them already."""
    if checked is None:
        checked = schema_problems(entries, devices)
    models: dict[str, ModelEntry] = {}
    options: dict[str, ModelEntry] = {}
    problems: list[Problem] = []
    for option, item in entries.items():
        model, files = item["model"], item["files"]
        found = list(checked[option])
        if not found and model.get("configurator") is not None:
            found += _configurator_problems(model["configurator"], option, files[-1])
        if found:
            problems += found
            continue
        other = models.get(model["hf_id"])
        if other is not None:
            if other.files and other.files[-1] in files[:-1]:
                # inherits that model's own file (spyre-hydra tune's profiles beside a
                # hand-edited file): one more option of the same model, not a rival
                options[option] = ModelEntry.from_tree(model, option, files)
                continue
            problems.append(Problem(f"{option}.hf_id", f"{model['hf_id']!r} is also the hf_id "
                                    f"of {other.option}.", files[-1],
                                    "give each model file its own hf_id"))
            continue
        entry = ModelEntry.from_tree(model, option, files)
        models[entry.name] = options[option] = entry
    if problems:
        raise ConfigValidationError(problems, "invalid model catalog")
    return models, options


def _sources(files: list[str]):
    """A problem's source: the model file, and its bases by name."""
    def source(_key: str) -> str:  # built when a problem is found: most entries have none
        if len(files) < 2:
            return files[-1]
        return f"{files[-1]} (bases: {', '.join(Path(x).name for x in files[:-1])})"

    return source


def _configurator_problems(spec, option: str, path: str) -> list[Problem]:
    try:  # imports the named module (the user's code, never vLLM by us) and checks the class
        configurator_class(spec, option, path)
    except ConfigValidationError as error:
        return error.problems
    return []


__all__ = ["admit", "schema_problems"]

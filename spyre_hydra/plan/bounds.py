"""Bounds a single launch shares with every sweep point: lengths the model can hold.

A max_model_len (or a warmup shape's prompt_len + new_tokens) beyond the model's
max_position_embeddings is refused here, as an error, so a single launch and a sweep point
accept exactly the same values. Shape arithmetic (positive sizes, prompt_len a multiple of
64) is in :func:`spyre_hydra.catalog.rules.check_shapes`, run before this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from spyre_hydra.errors import Problem

Sources = Callable[[str], str]


def _limit(model: Mapping) -> int | None:
    arch = model.get("architecture") if isinstance(model, Mapping) else None
    value = arch.get("max_position_embeddings") if isinstance(arch, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def bound_problems(tree: Mapping, source: Sources) -> list[Problem]:
    """Lengths of the chosen runtime beyond model.architecture.max_position_embeddings."""
    limit = _limit(tree.get("model") or {})
    rt = tree.get("runtime") or {}
    if limit is None:
        return []
    name = tree["model"].get("hf_id") or "the model"
    why = (f"exceeds the model's max_position_embeddings {limit} ({name}: "
           "model.architecture.max_position_embeddings).")
    problems = []
    if rt.get("name") == "cb":
        mml = rt.get("max_model_len")
        if isinstance(mml, int) and mml > limit:
            problems.append(Problem("runtime.max_model_len", f"{mml} {why}",
                                    source("runtime.max_model_len"),
                                    f"runtime.max_model_len=<int <= {limit}>"))
        return problems
    for i, shape in enumerate(rt.get("warmup_shapes") or []):
        prompt, new, _ = shape
        if prompt + new > limit:
            key = f"runtime.warmup_shapes[{i}]"
            problems.append(Problem(key, f"prompt_len + new_tokens = {prompt + new} {why}",
                                    source(key), f"shapes with prompt_len + new_tokens <= "
                                    f"{limit}"))
    return problems

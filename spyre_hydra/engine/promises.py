"""The one comparison of a plan with the VllmConfig vLLM built (and with the env).

spyre-launch's run_mode refuses the first broken promise (PlanMismatchError); the vLLM
plugin compares what a plain `vllm serve` command line controls and warns (refuses in
strict mode). Both read the differences from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from spyre_hydra.errors import PlanMismatchError

#: What a `vllm serve` command line sets itself (the vLLM plugin compares only these).
CLI_KEYS = ("tensor_parallel_size", "max_model_len")


class Difference(NamedTuple):
    key: str
    promised: Any
    actual: Any


#: key -> where the VllmConfig holds it (read only for the keys compared).
_ACTUAL = {
    "tensor_parallel_size": lambda vc: vc.parallel_config.tensor_parallel_size,
    "world_size": lambda vc: vc.parallel_config.world_size,
    "max_model_len": lambda vc: vc.model_config.max_model_len,
    "max_num_seqs": lambda vc: vc.scheduler_config.max_num_seqs,
    "num_gpu_blocks_override": lambda vc: vc.cache_config.num_gpu_blocks_override,
    "max_num_batched_tokens": lambda vc: vc.scheduler_config.max_num_batched_tokens,
}
#: Promised only when the plan sets them (None: vLLM's or the plugin's default).
_WHEN_SET = ("num_gpu_blocks_override", "max_num_batched_tokens")


def differences(plan, vc, keys=None) -> list[Difference]:
    """Engine values the plan promised that the VllmConfig does not hold (all, or `keys`)."""
    out = []
    for key, actual in _ACTUAL.items():
        promised = plan.tp_size if key in ("tensor_parallel_size", "world_size") \
            else plan.args.get(key)
        if (keys is not None and key not in keys) or (key in _WHEN_SET and promised is None):
            continue
        value = actual(vc)
        if promised != value:
            out.append(Difference(key, promised, value))
    return out


def env_differences(plan, environ: Mapping[str, str] | None = None) -> list[Difference]:
    """Variables the plan promised that `environ` holds with another value (or not at all)."""
    environ = os.environ if environ is None else environ
    return [Difference(key, str(value), environ.get(key))
            for key, value in plan.promised_env().items() if environ.get(key) != str(value)]


def served_matches(plan, vc, registry=None) -> list[str]:
    """Catalog names the served checkpoint's config.json matches, best first."""
    from spyre_hydra.catalog.registry import get_model_registry

    registry = registry or get_model_registry(plan.conf_tree)
    return [e.name for e in registry.match_hf_config(vc.model_config.hf_config)]


def check_env(plan, environ: Mapping[str, str] | None = None) -> None:
    """Raise PlanMismatchError when a variable the plan promised has another value (a user
    export of a backend variable, say): checked before vllm is imported."""
    for key, promised, actual in env_differences(plan, environ)[:1]:
        raise PlanMismatchError(f"env.{key}", promised, actual,
                                f"unset {key} (or export {key}={promised}) and rerun.")


def check_promises(plan, vc, environ: Mapping[str, str] | None = None) -> None:
    """Raise PlanMismatchError on the first value the VllmConfig or env does not keep."""
    for key, promised, actual in differences(plan, vc)[:1]:
        raise PlanMismatchError(f"engine_args.{key}", promised, actual,
                                "the platform changed it; pick a supported layout "
                                "(spyre-hydra list) or set the value it needs.")
    check_env(plan, environ)  # again: the platform hook writes os.environ too


def check_registry(plan, vc, strict: bool | None = None):
    """Run the catalog's configurator on the real VllmConfig, as the plan did; returns its
    summary (None when the runtime is unsupported and strict is off, as in the plan)."""
    from spyre_hydra.catalog.registry import get_model_registry

    strict = plan.strict if strict is None else strict
    registry = get_model_registry(plan.conf_tree)
    hf = vc.model_config.hf_config
    matches = served_matches(plan, vc, registry)
    if plan.model not in matches:
        raise PlanMismatchError(
            "model", plan.model, matches[0] if matches else None,
            f"the checkpoint's config.json (model_type={getattr(hf, 'model_type', None)!r}) "
            f"{'matches ' + matches[0] if matches else 'matches no catalog entry'}; point "
            f"model.path at a checkpoint of {plan.option}, or use model=auto model_path=DIR "
            "to pick the entry from the checkpoint.")
    configurator = registry.get_configurator_for_runtime(
        vc, [list(s) for s in plan.warmup_shapes] or None,
        sendnn_version=plan.sendnn_version, strict=strict)
    if configurator is None:
        return None
    if configurator.model_name != plan.model:  # a tie the catalog breaks the other way
        raise PlanMismatchError("model", plan.model, configurator.model_name,
                                "give the intended entry a higher priority (spyre-hydra check).")
    return configurator.configure(vc)


__all__ = ["CLI_KEYS", "Difference", "check_env", "check_promises", "check_registry",
           "differences", "env_differences", "served_matches"]

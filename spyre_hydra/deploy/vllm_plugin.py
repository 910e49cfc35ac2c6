"""vLLM general plugin: a plain `vllm serve` takes its Spyre settings from a composed plan.

Registered under the entry point group `vllm.general_plugins` (pyproject.toml). vLLM calls
`register()` in every process it starts (API server, engine core, workers). When
SPYRE_HYDRA_OVERRIDES ("model=granite_8b device=tp4") and/or SPYRE_HYDRA_CONF_DIR are set,
the first process composes the plan and:

- sets the plan's env (backend and model variables) where the user has not set them;
- points the Spyre plugin at the composed catalog (SENDNN_INFERENCE_MODEL_CONFIG_FILE),
  warning when the installed plugin lists models that catalog lacks;
- wraps the platform's check_and_update_config, the first point where vLLM's parsed CLI is
  a VllmConfig, to compare the served model, tp and max_model_len with the plan (warnings;
  refused in strict mode). Without `model=` in the overrides the plan is composed there,
  for the catalog model the served checkpoint's config.json matches;
- logs one line naming spyre_hydra, the model option, tp and what it set.

Ordering (vLLM 0.28): the API server loads general plugins in make_arg_parser
(AsyncEngineArgs.add_cli_args) *before* the platform's pre_register_and_update and long
before check_and_update_config, where the Spyre plugin builds its registry and reads
SENDNN_INFERENCE_MODEL_CONFIG_FILE; engine-core and worker processes inherit the env.
tests/deploy/test_vllm_plugin.py checks this against the installed vLLM and plugin.

With neither variable set, register() returns at once: no Hydra, no spyre_hydra import.
"""

from __future__ import annotations

import os

OVERRIDES_ENV = "SPYRE_HYDRA_OVERRIDES"
CONF_DIR_ENV = "SPYRE_HYDRA_CONF_DIR"
#: Set by the process that applied the plan; the processes vLLM starts from it inherit the
#: env and skip the work (and the log line).
APPLIED_ENV = "SPYRE_HYDRA_APPLIED"


def register() -> None:
    """vLLM's entry point: apply the composed plan when asked to, else do nothing."""
    if not (os.environ.get(OVERRIDES_ENV) or os.environ.get(CONF_DIR_ENV)):
        return
    if os.environ.get(APPLIED_ENV):
        return
    import logging

    from spyre_hydra.io.literal import split_words

    log = logging.getLogger("vllm.spyre_hydra")
    overrides = _guarded(split_words, os.environ.get(OVERRIDES_ENV) or "", OVERRIDES_ENV)
    if any(o.split("=", 1)[0].lstrip("+~") == "model" for o in overrides):
        plan = _guarded(apply, os.environ, log, overrides)
        hook_config_check(lambda _vc: plan, log)
        return
    # No model= given: the served checkpoint picks it, once vLLM has read its config.json
    # (still before the platform's check, which is where the Spyre plugin reads the env).
    def picked(vc):
        tree = _tree(os.environ)
        return apply(os.environ, log, [*overrides, f"model={pick_option(vc, tree)}"], tree)

    hook_config_check(lambda vc: _guarded(picked, vc), log)


def _tree(environ):
    """The ConfTree of SPYRE_HYDRA_CONF_DIR (unset: the shipped one)."""
    from spyre_hydra.plan.front import front_door

    return front_door(environ.get(CONF_DIR_ENV) or None, CONF_DIR_ENV)


def _guarded(function, *args):
    """Run `function`; a spyre_hydra error ends vLLM's start with one paragraph, exit 2."""
    import sys

    from spyre_hydra.errors import SpyreHydraError

    try:
        return function(*args)
    except SpyreHydraError as error:
        print(f"spyre_hydra (vLLM plugin, {OVERRIDES_ENV}={os.environ.get(OVERRIDES_ENV)!r}, "
              f"{CONF_DIR_ENV}={os.environ.get(CONF_DIR_ENV)!r}): error: {error}",
              file=sys.stderr)
        raise SystemExit(error.exit_code) from None


def pick_option(vllm_config, tree) -> str:
    """The catalog option of ConfTree `tree` whose pattern matches the served checkpoint
    best."""
    from spyre_hydra.catalog.registry import get_model_registry
    from spyre_hydra.errors import UnknownModelError

    matches = get_model_registry(tree).match_hf_config(vllm_config.model_config.hf_config)
    if not matches:
        raise UnknownModelError(f"no catalog model matches the served model "
                                f"{vllm_config.model_config.model!r}. Fix: name it in "
                                f"{OVERRIDES_ENV} (model=<option>), or add a model file to "
                                "the conf dir (README: adding a model).")
    return matches[0].option


def compose_plan(overrides: list[str], tree, environ):
    """The LaunchPlan of the overrides (the front door, spyre_hydra.compose; it carries
    `strict`, computed once)."""
    from spyre_hydra.plan.front import compose

    return compose(overrides, tree, environ)


def plan_env(plan, environ) -> dict[str, str]:
    """What this plan sets in a plain vLLM process: the one launch-env builder's answer
    without a mode's additions (only names the user has not set)."""
    from spyre_hydra.engine.launchenv import launch_env

    return launch_env(plan, "", environ)


def apply(environ, log, overrides: list[str], tree=None):
    """Compose, set the env (where unset) and log the one line; returns the plan. `tree`:
    the ConfTree (default: SPYRE_HYDRA_CONF_DIR's)."""
    from spyre_hydra.conftree.backends import MODEL_CONFIG_ENV
    from spyre_hydra.legacy.drift import missing_warning

    plan = compose_plan(overrides, tree if tree is not None else _tree(environ), environ)
    env = plan_env(plan, environ)
    environ.update(env)
    environ[APPLIED_ENV] = f"{plan.option} tp{plan.tp_size}"
    for warning in plan.warnings:
        log.warning("spyre_hydra: %s", warning)
    if MODEL_CONFIG_ENV in env:
        warning = missing_warning(env[MODEL_CONFIG_ENV])
        if warning:
            log.warning("spyre_hydra: %s", warning)
    kept = sorted(k for k in plan.promised_env() if k not in env)
    late = too_late(env)
    log.info("spyre_hydra: model=%s (%s) tp=%d backend=%s; set %s%s%s", plan.option,
             plan.model, plan.tp_size, plan.backend,
             ", ".join(f"{k}={v}" for k, v in env.items()) or "nothing",
             f"; kept yours: {', '.join(kept)}" if kept else "",
             f"; too late for this process, export before starting vLLM: {', '.join(late)}"
             if late else "")
    return plan


#: Variables read when vLLM (or huggingface_hub) is imported, before general plugins load.
_READ_AT_IMPORT = ("VLLM_PLUGINS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def too_late(env) -> list[str]:
    """Names set here that this process already read: vLLM resolves its platform and
    huggingface_hub its constants on import, and the Spyre plugin caches what it read."""
    import sys

    spyre_envs = sys.modules.get("sendnn_inference.envs")
    cached = set(getattr(spyre_envs, "_cache", {}) or {})
    return [k for k in env if k in cached or k in _READ_AT_IMPORT]


def compare(plan, vllm_config) -> list[str]:
    """Differences between the plan and the VllmConfig vLLM built from its CLI: the served
    checkpoint and what a `vllm serve` command line sets (the one promises check's)."""
    from spyre_hydra.engine.promises import CLI_KEYS, differences, served_matches

    found = []
    matches = served_matches(plan, vllm_config)
    if plan.model not in matches:
        found.append(f"served model {vllm_config.model_config.model!r} is matched as "
                     f"{matches[0] if matches else 'no catalog entry'}, the plan is for "
                     f"{plan.option} ({plan.model})")
    for key, promised, actual in differences(plan, vllm_config, CLI_KEYS):
        found.append(f"--{key.replace('_', '-')} is {actual}, the plan says {promised}")
    return found


def hook_config_check(planned, log) -> None:
    """Wrap the platform's check_and_update_config (the first point where vLLM's parsed CLI
    is a VllmConfig) to compare it with the plan; `planned(vllm_config)` gives the plan --
    composed already, or now from the served checkpoint."""
    from vllm.platforms import current_platform

    cls = type(current_platform)
    original = cls.check_and_update_config

    def check_and_update_config(klass, vllm_config) -> None:
        plan = planned(vllm_config)
        differences = compare(plan, vllm_config)
        if differences and plan.strict:
            raise ValueError("spyre_hydra (strict): the server differs from the composed plan: "
                             + "; ".join(differences) + f". Fix: serve as the plan says, or "
                             f"change {OVERRIDES_ENV}.")
        for text in differences:
            log.warning("spyre_hydra: %s (%s=%r)", text, OVERRIDES_ENV,
                        os.environ.get(OVERRIDES_ENV))
        return original(vllm_config)

    cls.check_and_update_config = classmethod(check_and_update_config)

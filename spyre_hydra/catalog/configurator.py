"""Apply a model's device settings to a vLLM config, the way the plugin does, but safely.

Env vars are set only when unset; a different existing value is kept and reported; a user's
num_gpu_blocks_override / max_num_batched_tokens is kept and reported. Strict mode turns each
such conflict into :class:`ConfigConflictError`. Everything is checked before anything is
changed, so a failure leaves the process environment and the vLLM config untouched.

ModelConfigurator is the extension point: a family or model file may name a subclass with
`configurator: {_target_: my_pkg.MyConfigurator, ...}`; make_configurator imports the class
(only with SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1: it is user code), checks it is a subclass, then
calls it with the node's other keys as plain data (a nested `_target_` is never called); it
is the one place a configurator is constructed. The node itself, read as data, is
catalog/configurator_node.py's.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from spyre_hydra.catalog.configurator_node import (checked_target, describe, first_line,
                                                   keyword_arguments, target_problem)
from spyre_hydra.catalog.custom_code import (ALLOW_CODE_ENV, custom_code_allowed, import_object,
                                             own_code)
from spyre_hydra.catalog.summary import ConfigurationSummary, ConfigValue, DeviceSettings
from spyre_hydra.errors import ConfigConflictError, ConfigValidationError, Problem

__all__ = ["ConfigValue", "ConfigurationSummary", "DefaultConfigurator", "DeviceSettings",
           "ModelConfigurator", "ALLOW_CODE_ENV", "configurator_class", "custom_code_allowed",
           "make_configurator", "strict_from_env"]

log = logging.getLogger(__name__)
STRICT_ENV = "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"
#: The plugin's name for the same switch; either one turns strict mode on.
PLUGIN_STRICT_ENV = "SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG"
STRICT_NAMES = f"{STRICT_ENV}=1 / {PLUGIN_STRICT_ENV}=1"


def strict_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """True when SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG or the plugin's
    SENDNN_INFERENCE_REQUIRE_KNOWN_CONFIG is set to a true value."""
    environ = environ if environ is not None else os.environ
    strict = False
    for name in (STRICT_ENV, PLUGIN_STRICT_ENV):
        value = environ.get(name, "")
        text = value.strip().lower()
        if text in {"1", "true", "yes", "on"}:
            strict = True
        elif text not in {"", "0", "false", "no", "off"}:
            raise ConfigConflictError(f"{name}={value!r} is not a boolean. Valid: 1, true, yes, "
                                      f"on / 0, false, no, off. Fix: export {name}=1 (or unset "
                                      "it).")
    return strict


class ModelConfigurator:
    """Base class of configurators (the seed's API): one model's device settings, by tp size.

    configure() is preview() -> check() -> apply, so a plan can show and check what configure
    would do without a VllmConfig. A subclass changes what is applied by overriding
    get_device_config (or preview); a model file names it with `configurator: {_target_: ...}`
    and extra keys there arrive as keyword arguments after these three.
    """

    #: The catalog model it configures, in the plugin's ModelConfig shape when a
    #: registry of spyre_hydra.compat built it (None otherwise).
    model_config: Any = None

    def __init__(self, model_name: str, device_configs: Mapping[int, DeviceSettings],
                 strict: bool | None = None):
        self.model_name = model_name
        self.device_configs = dict(device_configs)
        self.strict = strict_from_env() if strict is None else strict

    @property
    def device_config(self) -> DeviceSettings | None:
        """The plugin's attribute: the settings of the one layout this configurator was made
        for (a registry's runtime match), None when it has none or several."""
        values = list(self.device_configs.values())
        return values[0] if len(values) == 1 else None

    def get_device_config(self, tp_size: int) -> DeviceSettings | None:
        """The settings for a tensor parallel size, or None."""
        return self.device_configs.get(tp_size)

    def preview(self, vllm_config: Any, environ: Mapping[str, str] | None = None):
        """The summary configure() would produce, changing nothing."""
        return self.preview_layout(
            vllm_config.parallel_config.world_size,
            vllm_config.cache_config.num_gpu_blocks_override,
            getattr(vllm_config.scheduler_config, "max_num_batched_tokens", None), environ)

    def preview_layout(self, tp_size: int, num_gpu_blocks_override: int | None = None,
                       max_num_batched_tokens: int | None = None,
                       environ: Mapping[str, str] | None = None):
        """preview() from the values a VllmConfig would hold: the plan's preview, before
        any VllmConfig exists (the user's block count / batched tokens, None if unset)."""
        environ = os.environ if environ is None else environ
        summary = ConfigurationSummary(self.model_name, tp_size)
        settings = self.get_device_config(tp_size)
        if settings is None:
            log.debug("No device configuration for model %r with TP=%d", self.model_name,
                      tp_size)
            return summary
        for key, value in settings.env_vars.items():
            summary.env_vars[key] = ConfigValue(str(value), environ.get(key, str(value)))
        blocks = settings.num_gpu_blocks_override
        if blocks is not None:
            user = num_gpu_blocks_override
            summary.num_blocks = ConfigValue(blocks, blocks if user is None else user)
        tokens = settings.max_num_batched_tokens
        if tokens is not None:
            user = max_num_batched_tokens
            summary.max_num_batched_tokens = ConfigValue(tokens, tokens if user is None else user)
        return summary

    def check(self, summary: ConfigurationSummary) -> None:
        """Strict mode: refuse every setting that differs from the model default."""
        conflicts = summary.conflicts()
        if self.strict and conflicts:
            raise ConfigConflictError(
                f"model {self.model_name!r} at tp{summary.tp_size} requires its known settings "
                f"(strict mode), but: {'; '.join(conflicts)}. Fix: unset the env var / drop the "
                f"user value, or run without strict=true / {STRICT_NAMES}.")
        for line in conflicts:
            log.warning("kept a user value, not using model default: %s", line)

    def configure(self, vllm_config: Any, environ: MutableMapping[str, str] | None = None):
        """Apply the settings for vllm_config's tp size and return the summary."""
        environ = os.environ if environ is None else environ
        summary = self.preview(vllm_config, environ)
        self.check(summary)  # raises before anything below changes state
        added: list[str] = []
        try:
            for key, value in summary.env_vars.items():
                if key not in environ:
                    environ[key] = str(value.default)
                    added.append(key)
            if summary.num_blocks is not None:
                vllm_config.cache_config.num_gpu_blocks_override = summary.num_blocks.applied
            if summary.max_num_batched_tokens is not None:
                vllm_config.scheduler_config.max_num_batched_tokens = (
                    summary.max_num_batched_tokens.applied)
        except Exception:
            for key in added:
                environ.pop(key, None)
            raise
        log.info("%s", summary.format_log_message())
        return summary

    def set_env_var(self, key: str, value: Any, override: bool = False) -> ConfigValue:
        """Set one env var (only when unset unless override) and report what is in force."""
        existing = os.environ.get(key)
        if existing is not None and not override:
            result = ConfigValue(str(value), existing)
            if result.was_overridden() and self.strict:
                raise ConfigConflictError(f"{key} is set to {existing!r}; model {self.model_name!r}"
                                          f" needs {value!r} (strict mode: {STRICT_NAMES}). "
                                          f"Fix: unset {key}.")
            if result.was_overridden():
                log.warning("%s was set to %s, not using model default of %s", key, existing,
                            value)
            return result
        os.environ[key] = str(value)
        return ConfigValue(str(value), str(value))


class DefaultConfigurator(ModelConfigurator):
    """The universal configurator: the catalog's device settings, applied as they are."""


def configurator_class(spec: Any, key: str, where: str,
                       allow_code: bool | None = None) -> type[ModelConfigurator] | None:
    """The class a `configurator:` node names, checked (a dotted name, a ModelConfigurator
    subclass, the node's other keys accepted by its __init__) without building it. Its module
    (user code) is imported only with `allow_code` (default: SPYRE_HYDRA_ALLOW_CUSTOM_CODE);
    without, the node's form is checked and None returned."""
    target = checked_target(spec, key, where)
    if not own_code(target) and not (custom_code_allowed() if allow_code is None
                                      else allow_code):
        return None
    try:
        cls = import_object(target)
    except Exception as exc:  # ImportError, AttributeError, or the module's own failure
        raise target_problem(key, where, f"{target!r} cannot be imported ({first_line(exc)}).",
                             "install the package that defines it in this environment (or put "
                             "its folder on PYTHONPATH) and check the dotted name") from None
    if not (isinstance(cls, type) and issubclass(cls, ModelConfigurator)):
        raise target_problem(key, where, f"{target!r} is not a subclass of "
                             "spyre_hydra.ModelConfigurator.", "derive it from "
                             "spyre_hydra.ModelConfigurator (or DefaultConfigurator)")
    extra = keyword_arguments(spec)
    try:
        inspect.signature(cls).bind("model", {}, None, **extra)
    except TypeError as exc:
        raise target_problem(key, where, f"{target!r} does not accept the keys {sorted(extra)}: "
                             f"{exc}.", "give only keyword arguments its __init__ takes after "
                             "(model_name, device_configs, strict)") from None
    return cls


def make_configurator(model, device_configs: Mapping[int, DeviceSettings],
                      strict: bool | None = None, where: str | None = None,
                      allow_code: bool | None = None, notes: list | None = None
                      ) -> ModelConfigurator:
    """The configurator of a model (a ModelEntry or a composed model node): the class its
    `configurator:` node names, checked first (configurator_class) and then called with the
    node's other keys as plain keyword arguments, else DefaultConfigurator. A class whose
    module may not be imported (no opt-in) gives DefaultConfigurator and a note in `notes`
    (logged when None); with strict it is refused. Failures name the target and `where`."""
    name, spec, key, where = describe(model, where)
    if spec is None:
        return DefaultConfigurator(name, device_configs, strict)
    cls = configurator_class(spec, key, where, allow_code)
    if cls is None:
        target = spec["_target_"]
        why = (f"names the configurator {target!r}, whose module is not imported: custom "
               "code is off")
        fix = (f"{ALLOW_CODE_ENV}=1 once you trust that code, or remove `configurator:` "
               "from the model file")
        if strict if strict is not None else strict_from_env():
            raise target_problem(key, where, why + ".", fix, "custom code is off (strict)")
        note = f"model {name!r} ({where}) {why}, so the catalog's own settings apply. Fix: {fix}."
        if notes is None:
            log.warning("%s", note)
        else:
            notes.append(note)
        return DefaultConfigurator(name, device_configs, strict)
    try:
        return cls(name, device_configs, strict, **keyword_arguments(spec))
    except Exception as exc:  # the user's __init__ failed: name it, keep the cause chained
        raise ConfigValidationError([Problem(
            f"{key}.configurator", f"{cls.__module__}.{cls.__qualname__} could not be built: "
            f"{first_line(exc)}.",
            where, "fix the configurator's keys in the model file, or its __init__")],
            "invalid configurator") from exc

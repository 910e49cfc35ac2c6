"""vLLM arguments that are code by another name, and where a user conf file sets them.

A conf dir is data (README "Safety"), yet some vLLM engine and `vllm serve` arguments make
vLLM import a module, run a file or run the Python a checkpoint ships. CODE_ARGS is the one
list of them, read from vLLM 0.28's EngineArgs, its config classes and the serve frontend's
options (mode=serve passes every serve option through). Each row: the dotted argument, the
values that name no code (vLLM's own defaults and built-in names), and why it is code.

Looked at and left out, as they choose among vLLM's built-ins or installed plugins (entry
points) or are data: tokenizer_mode, load_format, quantization, model_impl, config_format,
io_processor_plugin, attention_backend, tool_call_parser, reasoning_parser, hf_overrides (a
dict of config.json values), chat_template (Jinja, sandboxed), generation_config.

    code_args(args)        (dotted argument, value, why) for each code argument set in args
    custom_code_allowed()  whether SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1 lets user files set them
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from spyre_hydra.errors import ConfigConflictError

#: The opt-in for user code: a configurator's module, a conf file's code arguments.
ALLOW_CODE_ENV = "SPYRE_HYDRA_ALLOW_CUSTOM_CODE"


def custom_code_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """True when SPYRE_HYDRA_ALLOW_CUSTOM_CODE is set to a true value."""
    value = (environ if environ is not None else os.environ).get(ALLOW_CODE_ENV, "")
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"", "0", "false", "no", "off"}:
        return False
    raise ConfigConflictError(f"{ALLOW_CODE_ENV}={value!r} is not a boolean. Valid: 1, true, "
                              f"yes, on / 0, false, no, off. Fix: export {ALLOW_CODE_ENV}=1 "
                              "(or unset it).")


def _unset(value) -> bool:
    return value is None or value is False or value in ("", [], {})


def _dotted(value) -> bool:
    """vLLM's own test for a custom proposer (SpeculativeConfig._is_custom_proposer_path)."""
    if not isinstance(value, str) or "/" in value or value.startswith("file:"):
        return False
    parts = value.split(".")
    return len(parts) >= 2 and all(part.isidentifier() for part in parts)


def _nodes(value):
    """Every node of a YAML value (mappings, lists, scalars), each once (a reused
    anchor is not walked twice)."""
    stack, seen = [value], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, Mapping):
            stack += list(node.values())
        elif isinstance(node, list):
            stack += node


def _module_paths(value) -> bool:
    """A `*module_path` key with a value anywhere inside (out-of-tree offloading specs,
    tiers and cache policies of the offloading connector)."""
    return any(isinstance(node, Mapping) and any(
        str(k).endswith("module_path") and not _unset(v) for k, v in node.items())
        for node in _nodes(value))


#: argument -> (names no code: value -> bool, why it is code)
CODE_ARGS = {
    "trust_remote_code": (_unset, "runs the Python files a checkpoint ships (auto_map) when "
                          "its config, tokenizer or processor loads"),
    "worker_cls": (lambda v: v in (None, "", "auto"), "names the worker class, which vLLM "
                   "imports in every worker process"),
    "worker_extension_cls": (_unset, "names a worker mixin class, imported in every worker"),
    "distributed_executor_backend": (
        lambda v: v in (None, "ray", "mp", "uni", "external_launcher"),
        "any value but ray, mp, uni or external_launcher names an Executor class to import"),
    "scheduler_cls": (_unset, "names the scheduler class, which vLLM imports"),
    "logits_processors": (_unset, "names logits processor classes, which vLLM imports"),
    "model_class_overrides": (_unset, "maps architectures to module:class targets the model "
                              "registry imports"),
    "reasoning_parser_plugin": (_unset, "names a Python file vLLM executes (a parser plugin)"),
    "structured_outputs_config.reasoning_parser_plugin": (
        _unset, "names a Python file vLLM executes (a parser plugin)"),
    "spec_method": (lambda v: v != "custom_class", "custom_class makes vLLM import "
                    "spec_model as a proposer class"),
    "spec_model": (lambda v: not _dotted(v), "a dotted name is a proposer class to import"),
    "speculative_config.method": (lambda v: v != "custom_class", "custom_class makes vLLM "
                                  "import speculative_config.model as a proposer class"),
    "speculative_config.model": (lambda v: not _dotted(v), "a dotted name is a proposer "
                                 "class to import"),
    "compilation_config.backend": (lambda v: v is None or (isinstance(v, str) and "." not in v),
                                   "a dotted name is a compile backend function to import"),
    "compilation_config.inductor_passes": (_unset, "maps pass names to functions to import"),
    "compilation_config.inductor_compile_config": (
        _unset, "torch inductor options, among them the C++ compiler it runs (cpp.cxx)"),
    "compilation_config.cache_dir": (_unset, "compiled graphs load from it: generated Python "
                                     "and pickles that run as they load"),
    "kv_transfer_config.kv_connector_module_path": (_unset, "names the module of the KV "
                                                    "connector class, imported"),
    "kv_transfer_config.kv_connector_extra_config": (
        lambda v: not _module_paths(v), "its *module_path keys name out-of-tree offloading "
        "specs, tiers or cache policies, imported"),
    "ec_transfer_config.ec_connector_module_path": (_unset, "names the module of the "
                                                    "encoder-cache connector class, imported"),
    "ec_manager_config.encoder_cache_manager_cls": (_unset, "names the encoder cache manager "
                                                    "class, which vLLM imports"),
    # `vllm serve` frontend options (mode=serve hands engine_args to vLLM's serve parser)
    "middleware": (_unset, "names ASGI middleware, which the API server imports"),
    "tool_parser_plugin": (_unset, "names a Python file the API server executes (a parser "
                           "plugin)"),
    "log_config_file": (_unset, "a logging dictConfig file, whose `()` factories are imported "
                        "and called"),
    "tool_server": (lambda v: "demo" not in [str(s).strip() for s in (
        v if isinstance(v, list) else str(v).split(","))],
                    "`demo` runs model-written Python in a container"),
    "config": (_unset, "a YAML file of more serve arguments (any of these), which no check "
               "reads"),
}


def _parts(key) -> list[str]:
    """An argument as vLLM's parser reads it: `worker-cls`, `--worker_cls` and `a.b=x`
    (`--compilation-config.backend`) name the same fields as their plain forms."""
    text = str(key).strip().lstrip("-+~").split("=")[0]
    return text.replace("-", "_").split(".")


def interpolated(value) -> bool:
    """A `${...}` anywhere in value: what it brings is not in the file."""
    return any(isinstance(node, str) and "${" in node for node in _nodes(value))


def _mapping(value):
    """A nested config as vLLM takes it: a mapping, or a JSON object in a string."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return value


_UNSEEN = "an interpolation: the keys it brings, which may name code, are not in the file"


def code_args(args: Mapping) -> list[tuple[str, object, str]]:
    """(dotted argument, value, why) for every CODE_ARGS entry `args` sets to code, an
    interpolation, or a nested config this check cannot read."""
    found = []
    for key, value in args.items():
        parts = _parts(key)
        for name, (harmless, why) in CODE_ARGS.items():
            row = name.split(".")
            if parts[:len(row)] == row:  # the key is the argument, or inside it
                inner: object = value
                for part in reversed(parts[len(row):]):
                    inner = {part: inner}
                if interpolated(inner) or not harmless(inner):
                    found.append((".".join(parts), value, why))
                continue
            if row[:len(parts)] != parts:
                continue
            node, where = value, parts
            for part in row[len(parts):]:  # the key holds the argument: go down to it
                node = _mapping(node)
                if isinstance(node, str) and "${" in node:
                    found.append((".".join(where), node, _UNSEEN))
                    break
                if not isinstance(node, Mapping) or part not in node:
                    break
                node, where = node[part], [*where, part]
            else:
                if interpolated(node) or not harmless(node):
                    found.append((name, node, why))
    return list(_unique(found))


def _unique(found):
    seen = set()
    for key, value, why in found:
        if key not in seen:
            seen.add(key)
            yield key, value, why


def text_names(text) -> list[str]:
    """The CODE_ARGS arguments a free text (a sweep axis over a whole engine_args mapping)
    mentions as words."""
    heads = dict.fromkeys(name.split(".")[0] for name in CODE_ARGS)
    return [h for h in heads if re.search(rf"(?<![\w-]){h.replace('_', '[_-]')}(?![\w-])",
                                          str(text))]


__all__ = ["ALLOW_CODE_ENV", "CODE_ARGS", "code_args", "custom_code_allowed", "interpolated",
           "text_names"]

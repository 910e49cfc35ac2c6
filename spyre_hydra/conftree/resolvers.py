"""OmegaConf resolvers: small pure functions, registered once.

They turn data that the composed tree already holds into a value: the block count for a
version, the first supported runtime entry for a tp size, and the device settings a CB
entry runs with (its own `device_config`, else the device option's block). Which model,
device and runtime apply is decided by interpolation in conf/config.yaml, not here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from spyre_hydra.conftree.hydra_adapter import register_resolver
from spyre_hydra.conftree.versions import installed_sendnn_version, select_block_override
from spyre_hydra.io.literal import escape

_PLAIN = (DictConfig, ListConfig)


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, _PLAIN) else value


def blocks(override: Any, version: Any) -> int | None:
    """``${spyre.blocks:<override>,<version>}``: the block count for a torch_sendnn version."""
    return select_block_override(_plain(override), version)


def cb_default(entries: Any, tp_size: int, key: str) -> int | None:
    """``${spyre.cb_default:<entries>,<tp>,<key>}``: `key` of the first CB entry for tp."""
    for entry in _plain(entries) or []:
        if entry.get("tp_size") == tp_size:
            return entry.get(key)
    return None


def static_default(entries: Any, tp_size: int) -> list | None:
    """``${spyre.static_default:<entries>,<tp>}``: the shapes of the first static entry for
    tp, as [prompt_len, new_tokens, batch_size] (a 2-field [prompt_len, batch_size] shape of
    a pooling model has no new tokens: 0)."""
    for entry in _plain(entries) or []:
        if entry.get("tp_size") == tp_size:
            shapes = entry.get("warmup_shapes")
            return [[s[0], 0, s[1]] if isinstance(s, list) and len(s) == 2 else s
                    for s in shapes] if isinstance(shapes, list) else shapes
    return None


def entry_settings(entry: Any, device_configs: Any, device: Any) -> Any:
    """The raw settings a CB entry runs with: its own `device_config` when it has one
    (``{}``: none), else ``device_configs[device]``; None when neither is there."""
    own = entry.get("device_config") if isinstance(entry, Mapping) else None
    if own is not None:
        return own
    return device_configs.get(device) if isinstance(device_configs, Mapping) else None


def device_setting(key: str, device_configs: Any, entries: Any, device: Any, tp_size: Any,
                   max_model_len: Any, max_num_seqs: Any) -> Any:
    """``${spyre.device_setting:<dotted key>,<device_configs>,<cb entries>,<device name>,<tp>,
    <max_model_len>,<max_num_seqs>}``: `key` of the settings the matching CB entry runs with
    (the device's block when no entry matches); env_vars default to {}, the rest to None.
    Bad data gives the default: the catalog checks report it, with its file."""
    wanted = (tp_size, max_model_len, max_num_seqs)
    match = next((e for e in _plain(entries) or [] if isinstance(e, Mapping) and (
        e.get("tp_size"), e.get("max_model_len"), e.get("max_num_seqs")) == wanted), None)
    value = entry_settings(match, _plain(device_configs), device)
    for part in str(key).split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    value = ({} if value is None else value) if key == "env_vars" else value
    # a node, as oc.select gave: a plain dict cannot be printed by `--cfg job --resolve`.
    # The values are already resolved: escaped, so that a literal `${...}` (data from an
    # imported file) is not read as an interpolation a second time.
    return OmegaConf.create(escape(value)) if isinstance(value, (Mapping, list)) else value


def _indented(text: str, indent: Any) -> str:
    pad = " " * int(indent or 0)
    return "\n".join(pad + line if i else line for i, line in enumerate(text.splitlines()))


def modes_help(indent: Any = 0) -> str:
    """``${spyre.modes_help:<indent>}``: the mode table, one line per mode (--help)."""
    from spyre_hydra.conftree.modes import mode_help

    return _indented(mode_help(), indent)


def backends_help(indent: Any = 0) -> str:
    """``${spyre.backends_help:<indent>}``: the backend files, one line each: the user's conf
    dir of the compose being rendered (`--config-dir`) first, then the shipped tree."""
    from spyre_hydra.conftree.backends import backend_help
    from spyre_hydra.conftree.searchpath import ranked_user_dir
    from spyre_hydra.conftree.tree import ConfTree

    return _indented(backend_help(ConfTree.at(ranked_user_dir())), indent)


def _help_order(name: str) -> tuple:
    """auto first, none last, then natural order (1.0.9 before 1.0.10, tp2 before tp16)."""
    parts = re.split(r"(\d+)", name)  # text at even places, digits at odd ones
    return (name != "auto", name == "none", [int(p) if i % 2 else p for i, p in enumerate(parts)])


def options_help(group: Any) -> str:
    """``${spyre.options_help:<group>}``: a config group's options, comma-separated (--help),
    from the same roots as backends_help, so a user's device/tp8.yaml shows up."""
    from spyre_hydra.conftree.searchpath import ranked_user_dir
    from spyre_hydra.conftree.tree import ConfTree

    names = ConfTree.at(ranked_user_dir()).options(str(group))
    return ", ".join(sorted(names, key=_help_order))


RESOLVERS = {
    "spyre.modes_help": modes_help,
    "spyre.options_help": options_help,
    "spyre.backends_help": backends_help,
    "spyre.blocks": blocks,
    "spyre.cb_default": cb_default,
    "spyre.static_default": static_default,
    "spyre.device_setting": device_setting,
    "spyre.sendnn_version": installed_sendnn_version,
}


def register_resolvers() -> None:
    """Register the spyre.* resolvers with OmegaConf; calling it again is a no-op."""
    for name, func in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            # The installed version can't change within a process, so caching is safe.
            register_resolver(name, func, use_cache=name == "spyre.sendnn_version")

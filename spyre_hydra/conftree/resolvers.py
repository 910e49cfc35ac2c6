"""OmegaConf resolvers: small pure functions, registered once.

They turn data that the composed tree already holds into a value: the block count for a
version, and the first supported runtime entry for a tp size. Which model/device settings
apply is decided by interpolation in conf/config.yaml, not here.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from spyre_hydra.conftree.versions import installed_sendnn_version, select_block_override

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
    """``${spyre.static_default:<entries>,<tp>}``: the shapes of the first static entry for tp."""
    for entry in _plain(entries) or []:
        if entry.get("tp_size") == tp_size:
            return entry.get("warmup_shapes")
    return None


def _indented(text: str, indent: Any) -> str:
    pad = " " * int(indent or 0)
    return "\n".join(pad + line if i else line for i, line in enumerate(text.splitlines()))


def modes_help(indent: Any = 0) -> str:
    """``${spyre.modes_help:<indent>}``: the mode table, one line per mode (--help)."""
    from spyre_hydra.conftree.modes import mode_help

    return _indented(mode_help(), indent)


def backends_help(indent: Any = 0) -> str:
    """``${spyre.backends_help:<indent>}``: the shipped backend files, one line each."""
    from spyre_hydra.conftree.backends import backend_help

    return _indented(backend_help(), indent)


RESOLVERS = {
    "spyre.modes_help": modes_help,
    "spyre.backends_help": backends_help,
    "spyre.blocks": blocks,
    "spyre.cb_default": cb_default,
    "spyre.static_default": static_default,
    "spyre.sendnn_version": installed_sendnn_version,
}


def register_resolvers() -> None:
    """Register the spyre.* resolvers with OmegaConf; calling it again is a no-op."""
    for name, func in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            # The installed version can't change within a process, so caching is safe.
            OmegaConf.register_new_resolver(name, func, use_cache=name == "spyre.sendnn_version")

"""OmegaConf resolvers: small pure functions, registered once.

They turn data that the composed tree already holds into a value: the block count for a
version, and the first supported runtime entry for a tp size. Which model/device settings
apply is decided by interpolation in conf/config.yaml, not here.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from spyre_hydra.conftree.hydra_adapter import register_resolver
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


def empty_mapping() -> DictConfig:
    """``${spyre.empty_mapping:}``: an empty mapping, the default of a `oc.select`. Unlike
    ``${oc.create:{}}`` it has no parent, which `OmegaConf.resolve` (`--cfg job --resolve`)
    needs on OmegaConf 2.4 (2.3 takes either; a plain ``{}`` fails there)."""
    return OmegaConf.create({})


RESOLVERS = {
    "spyre.blocks": blocks,
    "spyre.cb_default": cb_default,
    "spyre.static_default": static_default,
    "spyre.sendnn_version": installed_sendnn_version,
    "spyre.empty_mapping": empty_mapping,
}


def register_resolvers() -> None:
    """Register the spyre.* resolvers with OmegaConf; calling it again is a no-op."""
    for name, func in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            # The installed version can't change within a process, so caching is safe.
            register_resolver(name, func, use_cache=name == "spyre.sendnn_version")

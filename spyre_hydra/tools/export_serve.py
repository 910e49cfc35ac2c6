"""`spyre-hydra export-serve [overrides...] --out DIR`: a composition as `vllm serve` input.

Writes DIR/serve.yaml for `vllm serve --config DIR/serve.yaml` (vLLM 0.28 reads a flat
mapping of its long option names, `tensor-parallel-size: 4`; true booleans become bare
flags, false ones --no-<name>) and DIR/env.sh exporting the plan's env (the backend's
static vars, then the model's device vars). For the Spyre backends it also writes DIR/model_configs.yaml, the catalog in the plugin's schema, and
points SENDNN_INFERENCE_MODEL_CONFIG_FILE at it, so the plugin's registry on a card host
applies the same settings the plan shows. Plan only: vllm is not imported.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

import yaml

from ..errors import LegacyFormatError

#: Env var names a shell can export; anything else in a plan is a catalog bug.
_SHELL_NAME = __import__("re").compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def add_arguments(parser) -> None:
    """Command-line arguments of `spyre-hydra export-serve`."""
    parser.add_argument("overrides", nargs="*", metavar="OVERRIDE",
                        help="spyre-launch overrides, e.g. model=granite_8b device=tp4")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    parser.add_argument("--config-dir", metavar="DIR", help="conf tree (default: the shipped one)")


def serve_options(plan, engine_args: dict, host: str, port: int) -> dict:
    """vllm serve's option mapping: long names with dashes, None (= vLLM default) dropped."""
    options = {k.replace("_", "-"): v for k, v in engine_args.items() if v is not None}
    options.update({"host": host, "port": int(port)})
    return options


def env_script(env: dict, backend: str, config_file: str | None) -> str:
    """A sourceable shell script exporting the plan env (values shell-quoted)."""
    lines = ["# Environment for `vllm serve --config serve.yaml`, written by spyre-hydra "
             "export-serve.", f"# backend={backend}. Source it: . ./env.sh"]
    for key, value in env.items():
        if not _SHELL_NAME.match(key):
            raise LegacyFormatError(f"env var name {key!r} cannot be exported by a shell. "
                                    "Fix: rename it in the model's device_configs env_vars.")
        lines.append(f"export {key}={shlex.quote(str(value))}")
    if backend != "cpu":
        # SpyreWorker joins a gloo group via env:// even at tp=1; a fixed port collides
        # between concurrent servers, so only a default is given.
        lines.append('export MASTER_PORT="${MASTER_PORT:-29500}"')
    if config_file:
        lines.append(": \"${SENDNN_INFERENCE_MODEL_CONFIG_FILE:=" + config_file + "}\"")
        lines.append("export SENDNN_INFERENCE_MODEL_CONFIG_FILE")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def export_serve(overrides, out_dir, conf_dir=None) -> dict[str, Path]:
    """Plan the composition and write serve.yaml, env.sh (and model_configs.yaml)."""
    from ..engine.modes import backend_name, promised_env, resolve_engine_args
    from ..composer import compose_launch
    from ..front import plan_from_config
    from ..checks.pipeline import check_argv
    from ..legacy.exporter import export_legacy

    # the front door's steps: pre-flight (model=auto, backend=auto -> detected), compose, plan
    cfg = compose_launch(check_argv(list(overrides), conf_dir), conf_dir)
    plan = plan_from_config(cfg, cfg.hydra)
    out = Path(out_dir).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LegacyFormatError(f"--out {out_dir}: cannot create it ({exc.strerror}). Fix: pass "
                                "a directory you can write to.") from None
    backend = backend_name(plan)
    written = {}
    config_file = None
    if backend != "cpu":
        written["model_configs"] = export_legacy(out / "model_configs.yaml", conf_dir,
                                                 plan.sendnn_version)
        config_file = str(written["model_configs"])
    args = resolve_engine_args(plan, conf_dir)
    options = serve_options(plan, args, cfg.serve.host, cfg.serve.port)
    header = (f"# vllm serve --config serve.yaml  (after `. ./env.sh`); {plan.option} "
              f"tp{plan.tp_size} {plan.runtime} backend={backend}, torch_sendnn "
              f"{plan.sendnn_version}. Written by spyre-hydra export-serve.\n")
    written["serve"] = out / "serve.yaml"
    _write(written["serve"], header + yaml.safe_dump(options, sort_keys=False))
    written["env"] = out / "env.sh"
    # the backend's static env (plan["backend_env"]) under the model's device env
    _write(written["env"], env_script(promised_env(plan), backend, config_file), 0o755)
    return written


def run(args) -> int:
    """Entry point of the subcommand."""
    written = export_serve(args.overrides, args.out, args.config_dir)
    for path in written.values():
        print(f"wrote {path}")
    return 0

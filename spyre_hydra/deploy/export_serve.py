"""`spyre-hydra export-serve [overrides...] --out DIR`: a deploy bundle for a named target.

The target is the card (`backend=sendnn`) unless `backend=eager|cpu` says otherwise; the
exporting host's detected backend and its environment never leak into the bundle. DIR gets:

  serve.yaml          `vllm serve --config` input (vLLM's long option names; host and port
                      from serve.host / serve.port)
  env.sh              the target's env, every value shell-quoted (`. ./env.sh`)
  serve.env           the same env as KEY=VALUE lines for `docker run --env-file`
  model_configs.yaml  the composed catalog in the plugin's schema (Spyre targets)
  configmap.yaml      Kubernetes ConfigMaps holding the env and the files
  serve.sh            env.sh, then vLLM's OpenAI server with the entry point that works
  bundle.json         plan, overrides, `versions`, catalog fingerprint and the file list

Plan only: vllm is not imported.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from spyre_hydra.deploy import bundle

#: Group options a bundle may target; `auto` would mean "whatever this host has".
TARGETS = ("sendnn", "eager", "cpu")


def add_arguments(parser) -> None:
    """Command-line arguments of `spyre-hydra export-serve`."""
    parser.add_argument("overrides", nargs="*", metavar="OVERRIDE",
                        help="spyre-launch overrides, e.g. model=granite_8b device=tp4 "
                             "(target: backend=sendnn unless given)")
    parser.add_argument("--out", required=True, metavar="DIR", help="bundle directory to write")
    parser.add_argument("--config-dir", metavar="DIR", help="user conf dir (overlays the shipped "
                        "catalog unless it says it replaces it)")
    parser.add_argument("--target-dir", metavar="DIR", help="where the bundle will live on the "
                        "target host (default: --out as an absolute path)")
    parser.add_argument("--model-path", metavar="PATH", help="the checkpoint's path on the "
                        "target host (not checked here; model.path must exist on this one)")
    parser.add_argument("--force", action="store_true", help="also replace bundle files edited by hand (never files spyre-hydra did not write)")


def serve_options(engine_args: dict, host: str, port: int) -> dict:
    """vllm serve's option mapping: long names with dashes, None (= vLLM default) dropped."""
    options = {k.replace("_", "-"): v for k, v in engine_args.items() if v is not None}
    options.update({"host": str(host), "port": int(port)})
    return options


def target_overrides(overrides) -> list[str]:
    """The overrides with the target backend made explicit: backend=sendnn (the card) when
    none, or `auto`, is given."""
    out, given = [], False
    for item in overrides:
        key, _, value = item.partition("=")
        if key.lstrip("+~") == "backend":
            given = True
            item = "backend=sendnn" if value == "auto" else item
        out.append(item)
    return out if given else [*out, "backend=sendnn"]


def plan_for_target(overrides, tree):
    """Plan for the target through the front door: (LaunchPlan, effective overrides), from
    the ConfTree `tree`. The plan is built against an empty environment, so the exporting
    shell's variables stay out."""
    from spyre_hydra.conftree.compose import compose_launch
    from spyre_hydra.deploy.hostenv import refuse_host_env
    from spyre_hydra.plan.front import plan_from_config
    from spyre_hydra.plan.pipeline import check_argv

    checked = check_argv(target_overrides(overrides), tree)
    cfg = compose_launch(checked, tree)
    refuse_host_env(cfg)  # ${oc.env:...} would read this host's env, not the target's
    return plan_from_config(cfg, cfg.hydra, environ={}, conf_tree=tree), checked


def bundle_files(plan, overrides, target_dir: str,
                 model_path: str | None = None) -> dict[str, str]:
    """Every file of the bundle as text (nothing written), from the plan alone (its conf
    roots, serve host/port and env)."""
    from spyre_hydra.conftree.backends import MODEL_CONFIG_ENV
    from spyre_hydra.conftree.stamp import installed_versions
    from spyre_hydra.engine.launchenv import launch_env, resolve_engine_args
    from spyre_hydra.legacy.exporter import legacy_text

    data = plan.to_dict()  # the JSON edge: bundle.json holds it
    backend = plan.backend
    # The one launch-env builder, for the target: no host environment, the catalog where
    # the bundle puts it; MASTER_PORT and the catalog path are rendered as defaults below.
    full = launch_env(plan, "", {}, port=0, model_config=f"{target_dir}/model_configs.yaml")
    env = {k: v for k, v in full.items() if k not in ("MASTER_PORT", MODEL_CONFIG_ENV)}
    files: dict[str, str] = {}
    config_file = full.get(MODEL_CONFIG_ENV)
    if config_file:
        files["model_configs.yaml"] = legacy_text(plan.conf_tree, plan.sendnn_version)
    args = resolve_engine_args(plan)  # builtin:tiny_* -> the built checkpoint
    if model_path:  # where the target keeps it; served under the catalog name
        args["model"] = str(model_path)
        args.setdefault("served_model_name", plan.model)
    options = serve_options(args, plan.inputs.serve_host, plan.inputs.serve_port)
    about = " ".join(f"{plan.option} tp{plan.tp_size} {plan.runtime} backend="
                     f"{backend}, torch_sendnn {plan.sendnn_version}".split())  # one line
    files["serve.yaml"] = (f"# vllm serve --config serve.yaml  (after `. ./env.sh`); {about}. "
                           "Written by spyre-hydra export-serve.\n"
                           + yaml.safe_dump(options, sort_keys=False))
    files["env.sh"] = bundle.env_script(env, backend, config_file)
    files["serve.env"] = bundle.env_file(env, backend, config_file)
    files["serve.sh"] = bundle.serve_script()
    files["configmap.yaml"] = bundle.configmap(
        plan, env, {k: files[k] for k in ("serve.yaml", "model_configs.yaml") if k in files},
        backend)
    files[bundle.MANIFEST] = json.dumps({
        "target": {"backend": backend, "dir": target_dir},
        "overrides": list(overrides), "plan": data, "serve_options": options,
        "versions": installed_versions(),
        "catalog_fingerprint": plan.catalog_fingerprint or plan.conf_tree.fingerprint(),
        "files": sorted([*files, bundle.MANIFEST])}, indent=2, ensure_ascii=False) + "\n"
    return files


def _notes(plan) -> list[str]:
    """What the exporter should know about the target that the plan alone does not say."""
    from spyre_hydra.conftree.backends import detect_backend

    notes = list(plan.warnings)
    if plan.backend == "sendnn" and detect_backend(plan.conf_tree) != "sendnn" and \
            plan.sendnn_version in ("", "none", "not installed", "None"):
        notes.append("torch_sendnn is not installed here, so version-dependent values take "
                     "their default. Fix: pass the target's version, e.g. sendnn_version=1.0.3.")
    return notes


def export_serve(overrides, out_dir, conf_dir=None, target_dir=None, force: bool = False,
                 model_path: str | None = None) -> dict[str, Path]:
    """Plan for the target and write the bundle (all files or none); name -> path.
    `conf_dir`: a user conf dir, a ConfTree or None."""
    from spyre_hydra.conftree.protected import check_output_target
    from spyre_hydra.conftree.tree import ConfTree

    tree = ConfTree.coerce(conf_dir, "export_serve")
    check_output_target(out_dir, tree)  # never into the package or a conf search path
    plan, overrides = plan_for_target(overrides, tree)
    target = str(target_dir or Path(out_dir).absolute())
    files = bundle_files(plan, overrides, target, model_path)
    written = bundle._write_bundle(out_dir, files, force)
    for note in _notes(plan):
        print(f"spyre-hydra export-serve: warning: {note}", file=sys.stderr)
    return written


def run(args) -> int:
    """Entry point of the subcommand."""
    tree = getattr(args, "conf_tree", args.config_dir)  # the dispatcher's
    written = export_serve(args.overrides, args.out, tree, args.target_dir,
                           args.force, args.model_path)
    for path in written.values():
        print(f"wrote {path}")
    return 0

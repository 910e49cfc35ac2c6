"""`spyre-hydra check`: catalog diagnostics, optionally confirmed against real HF configs.

Without --hf-configs it reports what the patterns alone imply (ties, and patterns refining
others). With a directory of <org>/<model>/config.json files it also matches each config and
reports confirmed shadows: a catalog model whose own config.json is matched as another one.
With --against-installed it compares the composed catalog with the installed Spyre plugin's
own model_configs.yaml and exits 1 when they differ (models on one side only, values).
"""

from __future__ import annotations

from pathlib import Path

from spyre_hydra.errors import UnknownOptionError


def add_arguments(parser) -> None:
    parser.add_argument("--hf-configs", metavar="DIR",
                        help="directory of <org>/<model>/config.json to match")
    parser.add_argument("--config-dir", help="user conf dir (overlays the shipped catalog "
                        "unless it says it replaces it)")
    parser.add_argument("--against-installed", action="store_true",
                        help="compare with the installed Spyre plugin's model_configs.yaml")
    parser.add_argument("--installed-file", metavar="FILE",
                        help="with --against-installed: compare with this file instead")
    parser.add_argument("--sendnn-version", metavar="V", help="torch_sendnn version for "
                        "version-dependent values (default: the installed one)")


def read_hf_configs(root: str | Path) -> dict[str, dict]:
    """HF id (<org>/<model>) -> parsed config.json, for every config under `root`."""
    from spyre_hydra.io.hfconfig import read_hf_config

    root = Path(root)
    if not root.is_dir():
        raise UnknownOptionError(f"--hf-configs {str(root)!r} is not a directory. Fix: point it "
                                 "at a folder holding <org>/<model>/config.json files.")
    files = sorted(root.glob("*/*/config.json"))
    if not files:
        raise UnknownOptionError(f"--hf-configs {str(root)!r} holds no <org>/<model>/config.json."
                                 " Fix: lay the configs out as <org>/<model>/config.json.")
    return {f"{f.parent.parent.name}/{f.parent.name}": read_hf_config(f.parent) for f in files}


def against_installed(args) -> int:
    """The drift report; 1 when the catalogs differ."""
    from spyre_hydra.legacy.drift import against_installed as compare
    from spyre_hydra.legacy.drift import report_lines

    tree = getattr(args, "conf_tree", args.config_dir)  # the dispatcher's
    path, result, builtin = compare(tree, args.sendnn_version, args.installed_file)
    lines = report_lines(result)
    print(f"composed catalog against {path}: " + (f"{len(lines)} difference(s)" if lines
                                                   else "no differences"))
    for line in lines:
        print(line)
    if builtin:
        print(f"  (not compared: spyre_hydra's builtin models {', '.join(builtin)})")
    return 1 if lines else 0


def profile_warnings(registry, installed=None) -> list[str]:
    """Profiles measured with other versions than the installed ones (spyre-hydra tune)."""
    from spyre_hydra.conftree.stamp import installed_versions

    installed = installed_versions() if installed is None else installed
    out = []
    for option in registry.list_options():
        for name, profile in sorted(registry.get_model_config(option).profiles.items()):
            measured = ((profile or {}).get("evidence") or {}).get("versions") or {}
            differ = [f"{k} {v} (installed: {installed.get(k, 'not installed')})"
                      for k, v in sorted(measured.items()) if installed.get(k) != v]
            if differ:
                out.append(f"model {option} profile {name} ({profile.get('id')}) was measured "
                           f"with {', '.join(differ)}. Fix: tune again (spyre-hydra tune ... "
                           "--out) to measure it with the installed versions.")
    return out


def code_notes(registry) -> list[str]:
    """One line per model whose configurator module was not imported (no opt-in)."""
    from spyre_hydra.catalog.custom_code import ALLOW_CODE_ENV, custom_code_allowed, own_code

    if custom_code_allowed():
        return []
    notes = []
    for option in registry.list_options():
        entry = registry.get_model_config(option)
        target = (entry.configurator or {}).get("_target_")
        if isinstance(target, str) and not own_code(target):
            notes.append(f"{option}: configurator {target!r} not imported or checked (custom "
                         f"code is off; {ALLOW_CODE_ENV}=1 imports it)")
    return notes


def run(args) -> int:
    from spyre_hydra.io.output import readable_stdout

    with readable_stdout():  # a report to read: ASCII where stdout cannot hold a glyph
        return _run(args)


def _run(args) -> int:
    from spyre_hydra.catalog.registry import get_model_registry

    if args.installed_file and not args.against_installed:
        from spyre_hydra.errors import UnknownOptionError

        raise UnknownOptionError("--installed-file is read only with --against-installed. "
                                 "Fix: add --against-installed.")
    if args.against_installed:
        return against_installed(args)

    registry = get_model_registry(getattr(args, "conf_tree", args.config_dir))
    configs = read_hf_configs(args.hf_configs) if args.hf_configs else None  # fail before output
    print(f"catalog: {len(registry.list_models())} models")
    for note in registry.diagnostics or ["no ties or shadows between patterns"]:
        print(f"  {note}")
    for warning in profile_warnings(registry):
        print(f"  warning: {warning}")
    for note in code_notes(registry):
        print(f"  {note}")
    if configs is None:
        return 0
    print(f"HF configs: {len(configs)} under {args.hf_configs}")
    for hf_id, config in configs.items():
        best = registry.matcher.best(config)
        print(f"  {hf_id}: " + (f"matched as {best.name}" if best else "no catalog match"))
    shadows = registry.check_shadows(configs)
    print(f"confirmed shadows: {len(shadows)}")
    for note in shadows:
        print(f"  {note}")
    return 0

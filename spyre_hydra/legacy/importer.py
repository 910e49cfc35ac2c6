"""`spyre-hydra import-legacy SRC.yaml --out DIR`: a plugin model_configs.yaml as a conf tree.

Reads both plugin schemas (the seed's `supported_configs` + `device_configs` by tp size, and
the 2.6.3/1.10.0 `continuous_batching_configs` with nested `device_config`), then writes
DIR/model/<option>.yaml per model over family bases made from the source's shared templates
(see layout.py). Nothing is written unless the whole source converts: the tree is built in
a temporary directory next to DIR and moved into place at the end.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from ..errors import LegacyFormatError
from ..paths import CATALOG_MARKER, find_config, shipped_conf_dir
from . import layout
from .source import read_source


def add_arguments(parser) -> None:
    """Command-line arguments of `spyre-hydra import-legacy`."""
    parser.add_argument("src", metavar="SRC.yaml", help="the plugin's model_configs.yaml")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="conf dir to create (use with spyre-launch --config-dir DIR)")
    parser.add_argument("--force", action="store_true",
                        help="replace a non-empty DIR that holds a conf tree (YAML files only)")


def run(args) -> int:
    """Entry point of the subcommand."""
    options = import_legacy(args.src, args.out, force=args.force)
    print(f"wrote {len(options)} models to {args.out}: {', '.join(options)}")
    print(f"try: spyre-hydra list --config-dir {args.out}\n"
          f"     spyre-launch --config-dir {Path(args.out).resolve()} model={options[0]} "
          "mode=plan")
    return 0


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise LegacyFormatError(f"--out {out} is a file, not a directory. Fix: pass a new or "
                                "empty directory.")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not force:
        raise LegacyFormatError(f"--out {out} is not empty. Fix: pass a new or empty directory, "
                                "or --force to replace its conf tree.")
    stray = [p for p in out.rglob("*") if p.is_file() and p.suffix not in (".yaml", ".md")]
    if stray:
        raise LegacyFormatError(f"--out {out} holds files that are not part of a conf tree (e.g. "
                                f"{stray[0]}); --force only replaces conf trees. Fix: pass "
                                "another directory.")


def _tree(models, anchors, src: Path) -> dict[str, str]:
    shipped = shipped_conf_dir()
    # Names the shipped tree already uses are avoided: spyre-launch --config-dir ranks DIR
    # after the shipped conf, so a same-named file in DIR would be ignored there.
    reserved = {p.stem for p in (shipped / "model" / "family").glob("*.yaml")}
    hf_ids = [m.hf_id for m in models]
    options = layout.unique_names(hf_ids, {"auto", *(p.stem for p in
                                                     (shipped / "model").glob("*.yaml"))})
    prio, rival = layout.priorities([m.model["architecture"] for m in models])
    families, chains = layout.plan_families(models, anchors, options, reserved)
    base = yaml.safe_load(find_config("model/family/base", [shipped]).read_text())
    files: dict[str, str] = {}
    used: set[str] = set()
    for i, m in enumerate(models):
        arch_family = next((families[c].body["family"] for c in chains[i]
                            if "architecture" in families[c].body), None)
        expected = {"hf_id": m.hf_id, "family": arch_family or m.model["architecture"].get(
            "model_type", "imported"), **m.model, "priority": prio[i]}
        parts = [base] + [families[c].body for c in reversed(chains[i])]
        body = layout.model_body(expected, parts)
        if body is None:  # the source overrides a template in a way a merge can't express
            chains[i], body = [], layout.model_body(expected, [base])
        used.update(chains[i])
        header = [f"{m.hf_id}: imported from {src.name} (line {m.line}) by spyre-hydra "
                  "import-legacy."]
        if rival[i] is not None:
            header.append(f"priority {prio[i]}: {hf_ids[rival[i]]} comes earlier in the source "
                          "with a pattern that can match the same checkpoints; the plugin "
                          "picks the first, so it wins here too.")
        parent = f"family/{chains[i][0]}" if chains[i] else f"family/{layout.ROOT}"
        files[f"model/{options[i]}.yaml"] = layout.render(header, parent, body)
    for fam in families.values():
        if fam.name in used:
            header = [f"Family base imported from {src.name}: {fam.note}."]
            files[f"model/family/{fam.name}.yaml"] = layout.render(header, fam.parent, fam.body)
    for tp in sorted({e["tp_size"] for m in models for k in layout.RUNTIME_KEYS
                      for e in m.model[k]} | {int(d[2:]) for m in models
                                              for d in m.model["device_configs"]}):
        if find_config(f"device/tp{tp}", [shipped]) is None:
            files[f"device/tp{tp}.yaml"] = (f"# {tp} Spyre cards, tensor parallel {tp} (added by "
                                            f"import-legacy for {src.name}).\nname: tp{tp}\n"
                                            f"tp_size: {tp}\n")
    # The source was a whole catalog: the tree says it replaces the shipped one, so every
    # tool (spyre-launch, list, check, exports, the registry) shows exactly these models.
    files[CATALOG_MARKER] = (f"# Catalog imported from {src.name!r} by spyre-hydra "
                             "import-legacy: its models replace the\n# shipped catalog. "
                             "Delete this file (or set false) to overlay the shipped models "
                             "instead.\nreplaces_shipped: true\n")
    return files


def _write(files: dict[str, str], out: Path) -> None:
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as exc:
        raise LegacyFormatError(f"cannot write --out {out}: {exc.strerror or exc} ({parent}). "
                                "Fix: pass a directory you can write to.") from None
    old = None
    try:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a conf dir is not a secret
        if out.is_dir() and any(out.iterdir()):
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.rename(out, old / "tree")
        elif out.is_dir():
            out.rmdir()
        os.rename(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.rename(old / "tree", out)  # put the previous tree back
        raise LegacyFormatError(f"cannot write --out {out}: {exc.strerror or exc}. Fix: pass "
                                "a directory you can write to.") from None
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def import_legacy(src_path, out_dir, force: bool = False) -> list[str]:
    """Convert a plugin model_configs.yaml into a conf tree at ``out_dir``; the options written."""
    src, out = Path(src_path), Path(out_dir)
    _check_out(out, force)
    models, anchors = read_source(src)
    files = _tree(models, anchors, src)
    _write(files, out)
    from ..registry import reset_registries

    reset_registries()  # a registry loaded earlier from out_dir would be stale
    return [Path(rel).stem for rel in files if rel.startswith("model/") and
            rel.count("/") == 1]


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: spyre-hydra import-legacy SRC.yaml --out DIR")

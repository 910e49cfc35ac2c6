"""`spyre-hydra import-legacy SRC.yaml --out DIR`: a plugin model_configs.yaml as a conf tree.

Reads both plugin schemas (the seed's `supported_configs` + `device_configs` by tp size, and
the 2.6.3/1.10.0 `continuous_batching_configs` with nested `device_config`), then writes
DIR/model/<option>.yaml per model over family bases made from the source's shared templates
(see layout.py). Nothing is written unless the whole source converts and every target may be
written (spyre_hydra.io.writer's rules: never SRC, never a file it did not write); other files
in DIR are left alone.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import yaml

from spyre_hydra.conftree.roots import CATALOG_MARKER, find_config, shipped_conf_dir
from spyre_hydra.errors import LegacyFormatError
from spyre_hydra.io.literal import escape
from spyre_hydra.io.writer import check_targets, forget, read_manifest, write_files
from spyre_hydra.legacy import layout
from spyre_hydra.legacy.source import read_source

#: Folders of the written tree whose YAML files all join the imported catalog.
GROUP_DIRS = ("model", "model/family", "device")


def add_arguments(parser) -> None:
    """Command-line arguments of `spyre-hydra import-legacy`."""
    parser.add_argument("src", metavar="SRC.yaml", help="the plugin's model_configs.yaml")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="conf dir to create (use with spyre-launch --config-dir DIR)")
    parser.add_argument("--force", action="store_true",
                        help="also replace files an earlier import wrote to DIR that were edited "
                             "since (never SRC, nor a file spyre-hydra did not write)")


def run(args) -> int:
    """Entry point of the subcommand."""
    options = import_legacy(args.src, args.out, force=args.force)
    print(f"wrote {len(options)} models to {args.out}: {', '.join(options)}")
    print(f"try: spyre-hydra list --config-dir {args.out}\n"
          f"     spyre-launch --config-dir {Path(args.out).resolve()} model={options[0]} "
          "mode=plan")
    return 0


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise LegacyFormatError(f"--out {out} is a file, not a directory. Fix: pass a new or "
                                "empty directory.")
    above = out
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise LegacyFormatError(f"cannot write --out {out}: {above} is a file, not a "
                                "directory. Fix: pass a directory you can write to.")


def _leftovers(out: Path, targets: dict) -> list[Path]:
    """Conf files of an earlier import that this one no longer writes (they would stay in
    the catalog); a conf file spyre-hydra did not write there is refused: it would mix in."""
    stale, foreign = [], []
    for group in GROUP_DIRS:
        folder = out / group
        if not folder.is_dir():
            continue
        known = read_manifest(folder)
        for path in sorted(folder.glob("*.yaml")):
            if path in targets:
                continue
            (stale if path.name in known else foreign).append(path)
    if foreign:
        raise LegacyFormatError(f"--out {out} is not empty: {foreign[0]} is a conf file "
                                "spyre-hydra did not write, and the imported catalog would "
                                f"include it ({len(foreign)} such file(s)); nothing was "
                                "written. Fix: move it away, or pass another --out (--force "
                                "never removes a file spyre-hydra did not write).")
    return stale


def _tree(models, anchors, src: Path) -> dict[str, str]:
    shipped = shipped_conf_dir()
    # Names the shipped tree already uses are avoided: spyre-launch --config-dir ranks DIR
    # after the shipped conf, so a same-named file in DIR would be ignored there.
    reserved = {p.stem for p in (shipped / "model" / "family").glob("*.yaml")}
    # Source text is data: escaped, `${oc.env:SECRET}` is read back by Hydra as that text.
    models = [replace(m, model=escape(m.model)) for m in models]
    anchors = escape(anchors)
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
        expected = {"hf_id": escape(m.hf_id), "family": arch_family or m.model["architecture"].get(
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
                                            f"import-legacy for {src.name!r}).\nname: tp{tp}\n"
                                            f"tp_size: {tp}\n")
    # The source was a whole catalog: the tree says it replaces the shipped one, so every
    # tool (spyre-launch, list, check, exports, the registry) shows exactly these models.
    files[CATALOG_MARKER] = (f"# Catalog imported from {src.name!r} by spyre-hydra "
                             "import-legacy: its models replace the\n# shipped catalog. "
                             "Delete this file (or set false) to overlay the shipped models "
                             "instead.\nreplaces_shipped: true\n")
    return files


def import_legacy(src_path, out_dir, force: bool = False) -> list[str]:
    """Convert a plugin model_configs.yaml into a conf tree at ``out_dir``; the options written."""
    src, out = Path(src_path), Path(out_dir)
    _check_out(out)
    models, anchors = read_source(src)
    files = _tree(models, anchors, src)
    targets = {out / rel: text for rel, text in files.items()}
    stale = _leftovers(out, targets)
    check_targets([*targets, *stale], force, [src])  # all refusals at once, before any write
    write_files(targets, force, [src])
    if stale:
        forget(stale, force, [src])
    from spyre_hydra.catalog.registry import reset_registries

    reset_registries()  # a registry loaded earlier from out_dir would be stale
    return [Path(rel).stem for rel in files if rel.startswith("model/") and
            rel.count("/") == 1]


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: spyre-hydra import-legacy SRC.yaml --out DIR")

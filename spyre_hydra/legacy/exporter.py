"""`spyre-hydra export-legacy --out FILE`: the composed catalog in the plugin's 2.6.3 schema.

The plugin (sendnn-inference 2.6.3) nests a device_config in each continuous-batching entry
and takes only integer block counts, so version-dependent blocks are resolved for one
torch_sendnn version (given, or the installed one). Models are written best-first by
priority, because the plugin breaks pattern ties by file order.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from spyre_hydra.conftree.versions import (
    installed_sendnn_version,
    parse_version,
    select_block_override,
)
from spyre_hydra.errors import VersionError
from spyre_hydra.io.writer import OutputError, write_text


def add_arguments(parser) -> None:
    """Command-line arguments of `spyre-hydra export-legacy`."""
    parser.add_argument("--out", required=True, metavar="FILE", help="model_configs.yaml to write")
    parser.add_argument("--config-dir", metavar="DIR", help="conf tree (default: the shipped one)")
    parser.add_argument("--force", action="store_true",
                        help="replace FILE even if edited since spyre-hydra wrote it (never a "
                             "file it did not write)")
    parser.add_argument("--sendnn-version", metavar="V",
                        help="torch_sendnn version for version-dependent block counts "
                             "(default: the installed one; 'none' takes each default)")


def run(args) -> int:
    """Entry point of the subcommand."""
    tree = getattr(args, "conf_tree", args.config_dir)  # the dispatcher's
    path = export_legacy(args.out, tree, args.sendnn_version, args.force)
    print(f"wrote {path}")
    return 0


def _device_config(entry, cb_entry, dev: str, version) -> dict | None:
    raw = entry.entry_settings(cb_entry, dev) or {}  # the entry's own, else the tp block
    out = {}
    if raw.get("env_vars"):
        out["env_vars"] = dict(raw["env_vars"])
    blocks = select_block_override(raw.get("num_gpu_blocks_override"), version,
                                   f"{entry.option}.device_configs.{dev}.num_gpu_blocks_override")
    if blocks is not None:
        out["num_gpu_blocks_override"] = blocks
    chunk = (raw.get("chunked_prefill_config") or {}).get("max_num_batched_tokens")
    if chunk is not None:  # ignored by the 2.6.3 plugin, kept so a re-import loses nothing
        out["chunked_prefill_config"] = {"max_num_batched_tokens": chunk}
    return out or None


def _shape(shape: list) -> dict:
    """A catalog shape in the plugin's mapping form; a 2-field one stays 2-field."""
    if len(shape) == 2:
        return {"prompt_len": shape[0], "batch_size": shape[1]}
    return {"prompt_len": shape[0], "new_tokens": shape[1], "batch_size": shape[2]}


def catalog_document(registry, version) -> tuple[dict, list[str]]:
    """The plugin's `models:` mapping for every model of a registry, and the device settings
    it cannot hold (the plugin only has them inside a continuous-batching entry)."""
    entries = [registry.get_model_config(o) for o in registry.list_options()]
    order = sorted(range(len(entries)), key=lambda i: (-entries[i].priority, i))
    models, dropped = {}, []
    for i in order:
        e = entries[i]
        item = {"architecture": dict(e.architecture), "platforms": list(e.platforms)}
        cb = []
        for c in e.continuous_batching_configs:
            row = {k: c[k] for k in ("tp_size", "max_model_len", "max_num_seqs")}
            dev = registry.devices.get(c["tp_size"], f"tp{c['tp_size']}")
            settings = _device_config(e, c, dev, version)
            if settings:
                row["device_config"] = settings
            cb.append(row)
        if cb:
            item["continuous_batching_configs"] = cb
        if e.static_batching_configs:
            item["static_batching_configs"] = [
                {"tp_size": s["tp_size"], "warmup_shapes": [_shape(w) for w in s["warmup_shapes"]]}
                for s in e.static_batching_configs]
        models[e.name] = item
        cb_devices = {registry.devices.get(c["tp_size"]) for c in e.continuous_batching_configs}
        dropped += [f"{e.option}.{d}" for d in e.device_configs if d not in cb_devices]
    return {"models": models}, dropped


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # shared dicts would come out as &id001 anchors
        return True

    def represent_list(self, data):
        flow = all(not isinstance(x, (dict, list)) for x in data)  # platforms: [x86_64, ...]
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _Dumper.represent_list)


def legacy_text(conf_dir=None, sendnn_version=None) -> str:
    """The catalog of ``conf_dir`` (a ConfTree, a user conf dir or None) as the text of a
    plugin model_configs.yaml."""
    from spyre_hydra.catalog.registry import get_model_registry
    from spyre_hydra.conftree.tree import ConfTree

    version = installed_sendnn_version() if sendnn_version is None else sendnn_version
    try:
        parse_version(version)  # a bad version fails before anything is read or written
    except VersionError:
        raise VersionError(f"--sendnn-version {version!r} is not a PEP 440 version. Valid: a "
                           "version such as 1.0.2 or 1.0.3, or 'none' (each block mapping's "
                           "default). Fix: --sendnn-version 1.0.3") from None
    tree = ConfTree.coerce(conf_dir, "legacy_text")
    registry = get_model_registry(tree)
    document, dropped = catalog_document(registry, version)
    source = tree.user_dir or "the shipped conf"
    header = ("# Model catalog in the vLLM Spyre plugin's schema (sendnn-inference 2.6.3),\n"
              f"# written by spyre-hydra export-legacy from {source}.\n"
              f"# Block counts are resolved for torch_sendnn {version}.\n"
              "# Models are in priority order: the plugin breaks pattern ties by file order.\n")
    if dropped:
        header += ("# Left out (device settings without a continuous-batching entry at that "
                   f"tp): {', '.join(dropped)}.\n")
    # A newline inside --config-dir must not end the comment: every line is commented again.
    header = "".join(f"# {line.lstrip('# ')}\n" for line in header.splitlines())
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False,
                              default_flow_style=False, width=100, allow_unicode=True)


def export_legacy(out_path, conf_dir=None, sendnn_version=None, force: bool = False) -> Path:
    """Write the catalog of ``conf_dir`` as a plugin model_configs.yaml, through the one writer
    (atomic; never over a symlink, a foreign or (without ``force``) a hand-edited file)."""
    from spyre_hydra.conftree.protected import check_output_target
    from spyre_hydra.conftree.stamp import conf_files
    from spyre_hydra.conftree.tree import ConfTree

    tree = ConfTree.coerce(conf_dir, "export_legacy")
    check_output_target(out_path, tree)  # never into the package or a conf search path
    text = legacy_text(tree, sendnn_version)
    out = Path(out_path)
    sources = conf_files(tree.user_dir) if tree.user_dir else []  # never overwrite the input
    try:
        return write_text(out, text, force=force, sources=sources)
    except OutputError as exc:
        raise OutputError(f"--out: {exc}") from None

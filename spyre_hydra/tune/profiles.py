"""The chosen points as model profiles, written back into a user conf dir.

A profile holds layout values only -- the device option, the runtime with its shapes or
max_model_len / max_num_seqs, and the engine_args the point set -- plus its evidence (SLO,
objective, measured figures, the sweep dir and its fingerprint, versions, date) and an id:
a content hash of the model, the layout and the evidence without the date, so a second
tune over the same results gives the same id.

Where it goes, in CONF_DIR/model/ (every write through spyre_hydra.io.writer):
- `<option>.yaml` missing: a copy of the model's current file (same defaults list, so the
  same family bases) with `profiles:` added;
- `<option>.yaml` written by an earlier tune and unchanged since: its profiles updated;
- `<option>.yaml` edited by hand, or not ours: left alone; `<option>_tuned.yaml` (or
  `_tuned2`, ...) is written instead, `defaults: [<option>@_here_, _self_]` plus the
  profiles, launched as model=<option>_tuned.
Every value is data: strings are escaped (spyre_hydra.io.literal) so nothing becomes an
OmegaConf interpolation when Hydra composes the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from spyre_hydra.io.literal import escape
from spyre_hydra.tune.select import LATENCY, THROUGHPUT, Point, verdicts_table

#: The versions a profile records (labels of spyre_hydra.conftree.stamp.DISTRIBUTIONS).
VERSION_KEYS = ("spyre_hydra", "vllm", "sendnn-inference", "torch_sendnn")
KEEP_METRICS = (THROUGHPUT, LATENCY, "request_throughput", "ttft_p99_ms", "tpot_mean_ms",
                "e2el_p99_ms")


def layout_of(point: Point) -> dict[str, Any]:
    """The layout values of a measured point (from its plan and its overrides)."""
    plan = point.plan or {}
    choices = (plan.get("provenance") or {}).get("choices") or {}
    args = plan.get("engine_args") or {}
    layout: dict[str, Any] = {"device": choices.get("device") or f"tp{plan['tp_size']}",
                              "runtime": plan["runtime"]}
    if plan["runtime"] == "static":
        layout["warmup_shapes"] = [list(s) for s in plan.get("warmup_shapes") or []]
    else:
        layout["max_model_len"] = args.get("max_model_len")
        layout["max_num_seqs"] = args.get("max_num_seqs")
    layout["engine_args"] = engine_overrides(point.overrides)
    return layout


def engine_overrides(overrides: list[str]) -> dict[str, Any]:
    """engine_args.<k>=<v> of a point, with the values as Hydra's parser reads them."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from hydra.errors import OverrideParseException

    from spyre_hydra.tune.slo import TuneError

    parser = OverridesParser.create()
    out = {}
    for text in overrides:
        key = text.split("=", 1)[0].lstrip("+~")
        if key.startswith("engine_args.") and "=" in text:
            try:
                out[key.split(".", 1)[1]] = parser.parse_overrides([text])[0].value()
            except OverrideParseException:  # an edited result.json: no sweep ran this
                raise TuneError(f"the override {text!r} of a chosen point is not one Hydra "
                                "parses, so it cannot go into a profile; nothing was written. "
                                "Fix: move that job dir out of the sweep dir and tune again."
                                ) from None
    return out


def sweep_fingerprint(sweep_dir: Path) -> str:
    """sha256 over the sweep's sweep.json and every job's result.json (names and bytes)."""
    from spyre_hydra.io.reading import read_bytes_bounded
    from spyre_hydra.sweep.results import MANIFEST, result_files

    digest = hashlib.sha256()
    for path in [sweep_dir / MANIFEST, *result_files(sweep_dir)]:
        if path.is_file():
            digest.update(f"{path.relative_to(sweep_dir).as_posix()}\0".encode())
            digest.update(read_bytes_bounded(path, what="sweep result"))
    return "sha256:" + digest.hexdigest()


def profile_of(point: Point, objective: str, slo: str, sweep: dict, model: str,
               date: str | None = None) -> dict[str, Any]:
    """The profile of a chosen point: layout, evidence and id."""
    plan = point.plan or {}
    versions = plan.get("versions") or {}
    figures = {k: point.median.get(k) for k in KEEP_METRICS if k in point.median}
    evidence = {"objective": objective, "slo": slo, "slo_figures": verdicts_table(point.verdicts),
                "measured": figures, "repeats": max(1, len(point.runs)),
                "workload": point.workload, "backend": plan.get("backend"),
                "catalog_verified": bool(plan.get("supported")), "job": point.job,
                "point": " ".join(point.overrides), "sweep": sweep,
                "versions": {k: versions.get(k, "unknown") for k in VERSION_KEYS}}
    layout = layout_of(point)
    blob = json.dumps([model, layout, evidence], sort_keys=True, default=str)
    evidence["date"] = date or time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return {**layout, "id": "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:16],
            "evidence": evidence}


class _Dumper(yaml.SafeDumper):
    """Block style, but short lists of numbers in flow style ([64, 8, 1]), no anchors."""

    def ignore_aliases(self, data):
        return True


def _list(dumper, data):
    flow = all(isinstance(x, (int, float)) or (isinstance(x, list) and all(
        isinstance(y, (int, float)) for y in x)) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _list)


def dump(data: dict, header: str) -> str:
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def _ours(path: Path) -> bool:
    """A file this writer wrote and nobody edited since (so it may be replaced)."""
    from spyre_hydra.io.writer import OutputError, check_targets

    try:
        check_targets([path])
    except OutputError:  # foreign, edited by hand, a symlink: not ours to replace
        return False
    return path.is_file()


@contextlib.contextmanager
def _tuning(out_dir: Path):
    """One tune at a time writes into a conf dir: two tunes on the same --out each read,
    merge and write the model file, so without this the later one drops the other's
    profiles. An flock on the dir itself (the writer locks model/, a different inode)."""
    import fcntl

    from spyre_hydra.io.writer import OutputError

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise OutputError(f"cannot create {out_dir}: {exc.strerror or exc}. Fix: --out a "
                          "directory you can write to.") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_profiles(option: str, source_file: Path, profiles: dict[str, dict], out_dir: Path,
                   verify: Callable[[Path, str], None] | None = None) -> tuple[Path, str]:
    """Write the profiles for model `option` into out_dir; (file written, option to launch).
    `verify(path, option)` then reads it back; when it raises, the file is put back as it
    was (or removed, when it is new) before the error goes on."""
    from spyre_hydra.io.writer import forget, write_text

    out_dir = Path(out_dir)
    with _tuning(out_dir):
        folder = out_dir / "model"
        before = {f: f.read_bytes() for f in folder.glob(f"{option}*.yaml")
                  if f.is_file() and not f.is_symlink()} if folder.is_dir() else {}
        path, launch = _write_locked(option, source_file, profiles, out_dir)
        try:
            if verify is not None:
                verify(path, launch)
        except BaseException:
            if path in before:  # ours and unchanged since this write: the writer allows it
                write_text(path, before[path])
            else:
                forget([path])
            raise
        return path, launch


def _write_locked(option: str, source_file: Path, profiles: dict[str, dict],
                  out_dir: Path) -> tuple[Path, str]:
    from spyre_hydra.conftree.conffile import read_conf_file
    from spyre_hydra.io.writer import write_text

    new = escape(profiles)  # data, never interpolations
    target = out_dir / "model" / f"{option}.yaml"
    note = "# Profiles measured by spyre-hydra tune (profile=<name>); "
    if not target.exists() and not target.is_symlink():
        data = read_conf_file(Path(source_file))
        data["profiles"] = {**(data.get("profiles") or {}), **new}
        # a comment line: a newline in the path must not start a YAML line of its own
        where = json.dumps(str(source_file), ensure_ascii=False)[1:-1]
        header = (note + f"the rest is a copy of {where}.\n# Edit freely: a later tune "
                  f"then writes {option}_tuned.yaml beside it instead.\n")
        return write_text(target, dump(data, header)), option
    if _ours(target):
        data = read_conf_file(target)
        data["profiles"] = {**(data.get("profiles") or {}), **new}
        return write_text(target, dump(data, _header(target) or note + "\n")), option
    for n in range(1, 100):
        name = f"{option}_tuned" + (str(n) if n > 1 else "")
        variant = out_dir / "model" / f"{name}.yaml"
        if not variant.exists() and not variant.is_symlink():
            data = {"defaults": [f"{option}@_here_", "_self_"], "profiles": new}
            header = (note + f"{target.name} was edited by hand, so it is left as it is "
                      f"and this file inherits it.\n# Launch with model={name}.\n")
            return write_text(variant, dump(data, header)), name
        if _ours(variant):
            data = read_conf_file(variant)
            data["profiles"] = {**(data.get("profiles") or {}), **new}
            return write_text(variant, dump(data, _header(variant))), name
    from spyre_hydra.tune.slo import TuneError

    raise TuneError(f"{out_dir / 'model'} holds {option}_tuned .. {option}_tuned99, none "
                    "written by spyre-hydra. Fix: --out <another conf dir>.")


def _header(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line for line in lines[:3] if line.startswith("#"))


__all__ = ["VERSION_KEYS", "layout_of", "profile_of", "sweep_fingerprint", "write_profiles"]

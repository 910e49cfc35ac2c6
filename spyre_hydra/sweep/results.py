"""result.json: one file per sweep job, written atomically, and the readers of a sweep dir.

A job dir holds result.json only once the job has finished, so a reader (the report, the
progress line, a user's `cat`) never sees half a file: the JSON goes to a temp file in the
same directory and is renamed over the target.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from spyre_hydra.io.reading import InputError, read_text_bounded

RESULT = "result.json"
MANIFEST = "sweep.json"
OUTCOMES = ("ok", "failed", "skipped")


def write_file(path: str | os.PathLike, data: bytes | str, exclusive: bool = False) -> Path:
    """The sweep's files go through spyre_hydra.io.writer: atomic, never over a symlink, a
    directory or a file the project did not write; `exclusive` claims a name that must not
    exist yet (FileExistsError when another sweep took it first)."""
    from spyre_hydra.io.writer import claim, write_text

    return claim(path, data) if exclusive else write_text(path, data)


def write_json_atomic(path: str | os.PathLike, data: Any, exclusive: bool = False) -> Path:
    """Write JSON so that `path` holds either the old content or all of the new one."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    return write_file(path, text, exclusive)


def blocked_files(paths) -> list[str]:
    """Lines naming each of `paths` that the writer would refuse to replace (edited by hand,
    foreign, a symlink, ...): what a rerun would write there would be lost."""
    from spyre_hydra.io.writer import OutputError, check_targets

    lines = []
    for path in map(Path, paths):
        try:
            check_targets([path])
        except OutputError as error:
            why = str(error).removeprefix(f"cannot write {path}: ").split(" Fix:")[0]
            lines.append(f"  - {path}: {why}")
    return lines


def _job_key(path: Path) -> tuple:
    name = path.parent.name
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def read_result(path: Path) -> dict[str, Any]:
    """One job's result.json; a damaged one becomes a failed record naming the error."""
    try:  # bounded: a result.json that is /dev/zero or a fifo must not hang the report
        data = json.loads(read_text_bounded(path, what="sweep result"))
    except (InputError, ValueError, RecursionError) as error:  # foreign or damaged: go on
        data = {"outcome": "failed", "error": f"unreadable {path}: {error}"}
    if not isinstance(data, dict) or not isinstance(data.get("job", {}), dict):
        data = {"outcome": "failed", "error": f"unreadable {path}: not a sweep job record "
                                              "(expected a JSON object)"}
    job = data.setdefault("job", {})
    job.setdefault("dir", str(path.parent))
    if job.get("num") is None and path.parent.name.isdigit():
        # Hydra names job dirs by job number: a damaged file still belongs to its job
        job["num"] = int(path.parent.name)
    return data


def result_files(sweep_dir: str | os.PathLike) -> list[Path]:
    """The result.json files under a sweep dir, in job order."""
    return sorted(Path(sweep_dir).glob(f"*/{RESULT}"), key=_job_key)


def read_results(sweep_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every finished job's result.json under a sweep dir, in job order."""
    return [read_result(path) for path in result_files(sweep_dir)]


def read_manifest(sweep_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The sweep.json the pre-flight wrote (points and skipped ones), if any."""
    path = Path(sweep_dir) / MANIFEST
    try:
        return json.loads(read_text_bounded(path, what="sweep manifest"))
    except (InputError, ValueError, RecursionError):
        return None


def count_outcomes(sweep_dir: str | os.PathLike) -> dict[str, int]:
    """How many jobs finished with each outcome so far (cheap: reads only the outcome)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for data in read_results(sweep_dir):
        counts[data.get("outcome", "failed")] = counts.get(data.get("outcome", "failed"), 0) + 1
    return counts

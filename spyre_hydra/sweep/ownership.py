"""Who owns a sweep dir: one sweep at a time, and only the sweep whose jobs are in it.

`.spyre_sweep.json` (written with an exclusive create, so two sweeps can never both claim a
dir) holds the sweep id and the hash of the sweep definition (its expanded points). Another
sweep is refused that dir; `sweep.resume=true` continues it only with the same definition.
`.spyre_sweep.lock` (exclusive create, holds the pid) marks a sweep that is running now;
a lock whose process is gone is taken over.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from pathlib import Path

from spyre_hydra.errors import SpyreHydraError
from spyre_hydra.io.reading import InputError, read_text_bounded
from spyre_hydra.sweep.results import RESULT, write_json_atomic

MARKER = ".spyre_sweep.json"
LOCK = ".spyre_sweep.lock"


class SweepDirError(SpyreHydraError):
    """The sweep dir cannot be used by this sweep."""


def definition_hash(points: list[list[str]]) -> str:
    """Hash of the expanded points, in launch order (the sweep's definition); whether it is
    resumed is not part of it."""
    kept = [[o for o in p if o.lstrip("+").partition("=")[0] != "sweep.resume"] for p in points]
    return hashlib.sha256(json.dumps(kept).encode("utf-8")).hexdigest()[:16]


def new_sweep_id() -> str:
    """A fresh id: time, host, pid and randomness (never shared by two sweeps)."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(read_text_bounded(path, what="sweep marker"))
        return data if isinstance(data, dict) else None
    except (InputError, ValueError, RecursionError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _has_jobs(sweep_dir: Path) -> bool:
    return any(sweep_dir.glob(f"*/{RESULT}")) or (sweep_dir / "multirun.yaml").exists()


def _lock(sweep_dir: Path, sweep_id: str) -> None:
    lock = sweep_dir / LOCK
    data = {"sweep_id": sweep_id, "pid": os.getpid(), "host": socket.gethostname()}
    for _ in range(2):
        try:
            write_json_atomic(lock, data, exclusive=True)
            return
        except FileExistsError:
            held = _read(lock) or {}
            same_host = held.get("host") == socket.gethostname()
            if same_host and isinstance(held.get("pid"), int) and not _alive(held["pid"]):
                lock.unlink(missing_ok=True)  # its sweep is gone: take over
                continue
            raise SweepDirError(
                f"hydra.sweep.dir={sweep_dir} is in use by a running sweep (pid "
                f"{held.get('pid')} on {held.get('host')}). Fix: wait for it to finish, or "
                "pick another hydra.sweep.dir.") from None


def claim(sweep_dir: Path, points: list[list[str]], resume: bool) -> dict:
    """Take the sweep dir for this sweep (create it, or resume it); returns the marker."""
    digest = definition_hash(points)
    marker_path = sweep_dir / MARKER
    if resume and not sweep_dir.is_dir():  # refused before anything is created
        raise SweepDirError(f"sweep.resume=true: {sweep_dir} holds no sweep to resume. "
                            "Fix: drop sweep.resume=true to start it there.")
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SweepDirError(f"hydra.sweep.dir={sweep_dir} cannot be created: "
                            f"{error.strerror or error}. Fix: hydra.sweep.dir=<a writable "
                            "dir>, or run from a writable working directory.") from None
    if not os.access(sweep_dir, os.W_OK | os.X_OK):
        raise SweepDirError(f"hydra.sweep.dir={sweep_dir} is not writable. Fix: "
                            "hydra.sweep.dir=<a writable dir>.")
    marker = _read(marker_path)
    if marker is None and marker_path.exists():
        raise SweepDirError(f"{marker_path} is damaged or unreadable, so the owner of "
                            f"{sweep_dir} is unknown. Fix: pick another hydra.sweep.dir.")
    if marker is None:
        if _has_jobs(sweep_dir):
            raise SweepDirError(f"hydra.sweep.dir={sweep_dir} holds jobs of another sweep "
                                "(it has no ownership marker). Fix: pick another "
                                "hydra.sweep.dir, or move those jobs away.")
        if resume:
            raise SweepDirError(f"sweep.resume=true: {sweep_dir} holds no sweep to resume. "
                                "Fix: drop sweep.resume=true to start it there.")
        marker = {"sweep_id": new_sweep_id(), "definition": digest, "points": len(points),
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        try:
            write_json_atomic(marker_path, marker, exclusive=True)
        except FileExistsError:  # another sweep claimed it a moment ago
            raise SweepDirError(f"hydra.sweep.dir={sweep_dir} was just taken by another "
                                "sweep. Fix: pick another hydra.sweep.dir.") from None
    elif not resume:
        raise SweepDirError(f"hydra.sweep.dir={sweep_dir} holds the jobs of sweep "
                            f"{marker.get('sweep_id')}. Fix: pick another hydra.sweep.dir, or "
                            "add sweep.resume=true to run its points that have no ok result.")
    elif marker.get("definition") != digest:
        raise SweepDirError(f"sweep.resume=true: {sweep_dir} holds sweep "
                            f"{marker.get('sweep_id')} with a different definition "
                            f"({marker.get('points')} points, hash {marker.get('definition')}; "
                            f"this one: {len(points)} points, hash {digest}). Fix: resume with "
                            "the same overrides it was started with, or pick another "
                            "hydra.sweep.dir.")
    _lock(sweep_dir, marker["sweep_id"])
    return marker


def release(sweep_dir: Path) -> None:
    """Drop this process's lock on the sweep dir."""
    lock = sweep_dir / LOCK
    held = _read(lock) or {}
    if held.get("pid") == os.getpid():
        lock.unlink(missing_ok=True)


def done_points(sweep_dir: Path, total: int) -> set[int]:
    """Job numbers that already have an ok result.json."""
    done = set()
    for num in range(total):
        data = _read(sweep_dir / str(num) / RESULT)
        if data and data.get("outcome") == "ok":
            done.add(num)
    return done


def resume_blockers(sweep_dir: Path, total: int) -> str | None:
    """Resume: the refusal when a file the rerun writes (a job's result.json, sweep.json,
    the summary) is one the writer would refuse to replace (edited by hand, foreign), so
    what the rerun writes there would be lost; None when every one can be written."""
    from spyre_hydra.sweep.report import CSV_NAME, MD_NAME, PNG_NAME
    from spyre_hydra.sweep.results import MANIFEST, blocked_files

    done = done_points(sweep_dir, total)
    paths = [sweep_dir / str(i) / RESULT for i in range(total) if i not in done]
    paths += [sweep_dir / name for name in (MANIFEST, CSV_NAME, MD_NAME, PNG_NAME, "pareto.png")]
    blocked = blocked_files(paths)
    if not blocked:
        return None
    return (f"sweep.resume=true: {len(blocked)} file(s) of the sweep dir cannot be replaced "
            "by the rerun, so what it writes there would be lost; nothing was run:\n"
            + "\n".join(blocked) + "\nFix: move those files out of the sweep dir (e.g. "
            "mv result.json result.json.mine), then rerun with sweep.resume=true "
            f"hydra.sweep.dir={sweep_dir}.")

"""The one writer: every file spyre_hydra writes goes through here.

Each write is atomic (a temp file opened O_EXCL|O_NOFOLLOW in the same directory, fsync,
rename, fsync of the directory), never replaces a symlink, device, fifo, socket or directory,
and never overwrites a file it did not write: each output directory keeps a manifest
(:data:`MANIFEST`) of the files written there with their sha256. The rules, per target:

- missing -> written;
- in the manifest, unchanged since -> replaced;
- in the manifest but edited by hand -> refused unless ``force``;
- not in the manifest (a foreign file) or a source the caller reads -> always refused;
- recorded as a stream (a log) -> reopened only as a stream; replaced only with ``force``;
- named like the manifest itself -> always refused (the manifest would discard it).

A temp file left by a killed writer (`.<name>.<host>-<pid>-<hex>.tmp`) is removed by the next
write into that directory once it is provably stale (io/staletemp.py: a regular file of this
user whose process on this host is gone); no output may be named like one.

A bundle (:func:`write_files`) checks every target first and writes nothing when one is
refused; its temp files are all written before the first rename. The rules live in
io/write_rules.py; caches use io/cache_write.py's write_cache and this module's
publish_dir (atomic, never over a symlink, no manifest), built on this module's temp files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from spyre_hydra.io.manifest import (
    MANIFEST,
    STREAM,
    OutputError,
    manifest_body,
    read_manifest,
    sha256,
)
from spyre_hydra.io.staletemp import clean_stale as _clean_stale
from spyre_hydra.io.staletemp import temp_name
from spyre_hydra.io.write_rules import check_targets

#: Files this process wrote so far (count, last path): an error printing the report after
#: them means the work is done (spyre_hydra.io.output says so, exit 1).
WRITTEN: dict = {"count": 0, "last": None}


def _encode(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


@contextlib.contextmanager
def _locked(folder: Path):
    """Serialises manifest updates of one directory between processes (flock on the dir)."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _temp(folder_fd: int, name: str, data: bytes, mode: int) -> str:
    tmp = temp_name(name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600, dir_fd=folder_fd)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp, dir_fd=folder_fd)
        raise
    return tmp


def install(folder_fd: int, name: str, data: bytes, mode: int = 0o644) -> None:
    """Put ``data`` at ``name`` in the open directory atomically (temp file, rename, fsync):
    the one rename of a file into place outside a bundle (caches: io/cache_write.py)."""
    _clean_stale(folder_fd)
    tmp = _temp(folder_fd, name, data, mode)
    os.replace(tmp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    os.fsync(folder_fd)


def _mkdirs(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {folder}: {exc.strerror or exc}. Fix: choose a "
                          "directory you can write to.") from None


def _stale(by_dir: Mapping[Path, list]) -> list[Path]:
    """Files an earlier write_files(prune=True) left in these dirs that this one lacks."""
    out = []
    for folder, group in by_dir.items():
        names = {p.name for p, _ in group}
        if folder.is_dir():
            out += [folder / n for n in read_manifest(folder) if n not in names]
    return out


def write_files(files: Mapping, force: bool = False, sources: Iterable = (),
                modes: Mapping | None = None, manifest: bool = True,
                prune: bool = False) -> list[Path]:
    """Write a bundle {path: text or bytes}: all of it, or (on a refusal) none of it. With
    ``prune``, files of the dirs' manifests that the bundle lacks are removed (same rules)."""
    items = [(Path(p), _encode(c)) for p, c in files.items()]
    by_dir: dict[Path, list] = {}
    for path, data in items:
        by_dir.setdefault(path.parent, []).append((path, data))
    try:  # before any dir is created; without the locks, so only a first answer
        check_targets([*(p for p, _ in items), *(_stale(by_dir) if prune else [])], force,
                      sources)
    except OutputError:
        if not all(folder.is_dir() for folder in by_dir):
            raise
        # A concurrent writer may be between its renames (files new, manifest old): that
        # looks "edited by hand". Decide under the locks, where no writer is half done.
    for folder in by_dir:
        _mkdirs(folder)
    with contextlib.ExitStack() as stack:
        fds = {d: stack.enter_context(_locked(d)) for d in sorted(by_dir)}
        stale = _stale(by_dir) if prune else []
        check_targets([*(p for p, _ in items), *stale], force, sources)  # under the locks
        for fd in fds.values():
            _clean_stale(fd)
        temps: list[tuple[int, str, str]] = []
        try:
            for folder, group in by_dir.items():
                for path, data in group:
                    mode = {Path(k): v for k, v in (modes or {}).items()}.get(path, 0o644)
                    temps.append((fds[folder], _temp(fds[folder], path.name, data, mode),
                                  path.name))
                if manifest:
                    known = read_manifest(folder)
                    for path in stale:
                        if path.parent == folder:
                            known.pop(path.name, None)
                    known.update({p.name: sha256(d) for p, d in group})
                    temps.append((fds[folder], _temp(fds[folder], MANIFEST,
                                                     manifest_body(known), 0o644), MANIFEST))
        except BaseException as exc:  # an interrupt too: no temp file stays behind
            for fd, tmp, _ in temps:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=fd)
            if not isinstance(exc, OSError):
                raise
            raise OutputError(f"cannot write into {folder}: {exc.strerror or exc}; nothing was "
                              "written. Fix: free space or choose a directory you can write "
                              "to.") from None
        for fd, tmp, name in temps:  # manifests last per dir: they only vouch for done files
            if name == MANIFEST:
                for path in (p for p in stale if fds[p.parent] == fd):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path.name, dir_fd=fd)
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        for fd in fds.values():
            os.fsync(fd)
    WRITTEN.update(count=WRITTEN["count"] + len(items), last=items[-1][0] if items else None)
    return [p for p, _ in items]


def write_text(path, text: str | bytes, force: bool = False, sources: Iterable = (),
               mode: int = 0o644) -> Path:
    """Write one file under the writer's rules (see the module docstring)."""
    return write_files({path: text}, force, sources, {str(path): mode})[0]


def forget(paths: Iterable, force: bool = False, sources: Iterable = ()) -> list[Path]:
    """Delete files this writer wrote (unchanged, or edited with ``force``); refuses others."""
    paths = [Path(p) for p in paths]
    check_targets(paths, force, sources)
    for folder in sorted({p.parent for p in paths}):
        with _locked(folder) as fd:
            known = read_manifest(folder)
            for path in (p for p in paths if p.parent == folder):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path.name, dir_fd=fd)
                known.pop(path.name, None)
            os.replace(_temp(fd, MANIFEST, manifest_body(known), 0o644), MANIFEST,
                       src_dir_fd=fd, dst_dir_fd=fd)
    return paths


def _record(folder_fd: int, folder: Path, entries: Mapping[str, str]) -> None:
    """Add ``entries`` (name -> sha256 or STREAM) to the folder's manifest, atomically."""
    known = read_manifest(folder)
    known.update(entries)
    os.replace(_temp(folder_fd, MANIFEST, manifest_body(known), 0o644), MANIFEST,
               src_dir_fd=folder_fd, dst_dir_fd=folder_fd)


def claim(path, content: str | bytes, mode: int = 0o644) -> Path:
    """Create ``path`` only if nothing is there (atomic, via link): FileExistsError otherwise.
    For markers that say who owns a directory, where two writers may race."""
    path = Path(path)
    _mkdirs(path.parent)
    data = _encode(content)
    with _locked(path.parent) as fd:
        _clean_stale(fd)
        tmp = _temp(fd, path.name, data, mode)
        try:
            os.link(tmp, path.name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
        finally:
            os.unlink(tmp, dir_fd=fd)
        _record(fd, path.parent, {path.name: sha256(data)})
        os.fsync(fd)
    return path


def open_stream(path, force: bool = False, append: bool = False):
    """A log file another process writes into as it runs (not atomic by nature): checked by
    the writer's rules, opened without following a symlink, recorded as ours (STREAM)."""
    path = Path(path)
    check_targets([path], force, stream=True)
    _mkdirs(path.parent)
    with _locked(path.parent) as fd:
        _clean_stale(fd)
        how = os.O_APPEND if append else os.O_TRUNC
        handle = os.open(path.name, os.O_WRONLY | os.O_CREAT | how | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o644, dir_fd=fd)
        _record(fd, path.parent, {path.name: STREAM})
    return os.fdopen(handle, "w", encoding="utf-8")


def publish_dir(built: Path, target: Path) -> Path:
    """Put a cache directory built beside ``target`` in its place, so readers only ever see a
    complete one or none (a directory can't be renamed over a non-empty one: the old one is
    moved aside first). Never over a symlink."""
    import shutil
    import tempfile

    if target.is_symlink():
        raise OutputError(f"cache dir {target} is a symlink; not replaced. Fix: remove it, or "
                          "set SPYRE_HYDRA_CACHE to another directory.")
    # mkdtemp makes 0700 (and safetensors writes 0600); the cache may be shared.
    built.chmod(0o755)
    for path in built.iterdir():
        path.chmod(0o644)
    if target.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".trash-{target.name}-", dir=target.parent))
        os.replace(target, trash / "old")
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(built, target)
    return target


__all__ = ["MANIFEST", "OutputError", "check_targets", "claim", "forget", "open_stream",
           "publish_dir", "read_manifest", "write_files", "write_text"]

"""Whether a cache dir may be trusted: by who owns it and who may write it, never by a digest.

A cache entry's sha256 only detects damage (truncation, a half-written file): anyone who can
write the cache can recompute it. Trust comes from ownership and permissions, as ssh decides
about ~/.ssh: the cache dir and every dir on the way to it must be owned by this user or
root, and writable by nobody else -- a parent may be world-writable only with the sticky bit
(/tmp), which stops others from renaming what is ours; a symlink on the way must be owned by
this user or root. A dir that fails is not used: one warning, and the run goes on without a
cache (slower: the catalog is rebuilt, the plugin's catalog and tiny models go to a private
temp dir), or, in strict mode, a refusal.

:func:`unsafe_dir_reason` and :func:`unsafe_file_reason` are the generic checks (meant to be
shared with the conf-dir checks); :func:`usable_cache_dir` is the cache's policy.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from spyre_hydra.errors import SpyreHydraError

_MAX_LINKS = 40  # as the kernel's ELOOP limit: a symlink loop ends here


class CacheTrustError(SpyreHydraError):
    """Strict mode: the cache dir, or a dir on the way to it, may be written by other users."""


def _user_private_group(gid: int) -> bool:
    """True for this user's own group (Debian's user private groups): its being writable is
    not another user's."""
    import grp
    import pwd

    try:
        group, me = grp.getgrgid(gid), pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return False
    return group.gr_name == me and set(group.gr_mem) <= {me}


def _owner_ok(st) -> bool:
    return st.st_uid in (os.geteuid(), 0)


def _writable_by_others(st, sticky_ok: bool) -> str | None:
    mode = stat.S_IMODE(st.st_mode)
    if sticky_ok and mode & stat.S_ISVTX:
        return None
    if mode & stat.S_IWOTH:
        return "writable by every user"
    if mode & stat.S_IWGRP and not _user_private_group(st.st_gid):
        import grp

        try:
            name = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            name = f"gid {st.st_gid}"
        return f"writable by group {name}"
    return None


def _owner_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def unsafe_dir_reason(path, sticky_ok_last: bool = False) -> str | None:
    """Why ``path`` (a directory, and every directory and symlink on the way to it) could be
    changed by another user; None when it cannot. Missing trailing parts are fine (we create
    them). Parents may be sticky and world-writable (/tmp); ``path`` itself only when
    ``sticky_ok_last``."""
    pending = list(Path(os.path.abspath(os.path.expanduser(path))).parts[1:])
    current, links = Path("/"), 0
    checked: list[tuple[Path, bool]] = [(current, bool(pending) or sticky_ok_last)]
    while pending:
        name = pending.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            current = current.parent
            continue
        nxt = current / name
        try:
            st = os.lstat(nxt)
        except FileNotFoundError:  # we create the rest inside the last dir: it is the end
            checked[-1] = (current, sticky_ok_last)
            break
        except OSError as exc:
            return f"{nxt} cannot be inspected ({exc.strerror})"
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > _MAX_LINKS:
                return f"{nxt} is part of a symlink loop"
            if not _owner_ok(st):
                return f"{nxt} is a symlink owned by {_owner_name(st.st_uid)}, not by you or root"
            target = Path(os.readlink(nxt))
            pending = list(target.parts[1:] if target.is_absolute() else target.parts) + pending
            current = Path("/") if target.is_absolute() else current
            continue
        if not stat.S_ISDIR(st.st_mode):
            return f"{nxt} is not a directory"
        current = nxt
        checked.append((current, bool(pending) or sticky_ok_last))
    for folder, sticky_ok in checked:
        st = os.stat(folder)
        if not _owner_ok(st):
            return f"{folder} is owned by {_owner_name(st.st_uid)}, not by you or root"
        why = _writable_by_others(st, sticky_ok)
        if why:
            return f"{folder} is {why} (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def unsafe_file_reason(path) -> str | None:
    """Why a file in a trusted dir must not be used as it is: not a regular file (a symlink,
    a fifo), owned by another user, or writable by others. None when it may be read."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    if not _owner_ok(st):
        return f"{path} is owned by {_owner_name(st.st_uid)}, not by you or root"
    why = _writable_by_others(st, sticky_ok=False)
    return f"{path} is {why}" if why else None


_warned: set[str] = set()


def usable_cache_dir(path, strict: bool = False) -> Path | None:
    """``path`` when it can be trusted as spyre_hydra's cache, else None after one warning
    per process (CacheTrustError when ``strict``)."""
    path = Path(path).expanduser()
    why = unsafe_dir_reason(path)
    if why is None:
        return path
    text = (f"cache dir {path}: {why}, so another user could plant what spyre_hydra reads "
            "from it")
    fix = ("Fix: make it yours and not group/world-writable (chmod go-w), or set "
           "SPYRE_HYDRA_CACHE to a dir of your own")
    if strict:
        raise CacheTrustError(f"{text}. Strict mode refuses it. {fix}.")
    if str(path) not in _warned:
        _warned.add(str(path))
        print(f"spyre_hydra: warning: {text}; running without the cache (slower). {fix}.",
              file=sys.stderr)
    return None


_private: dict[str, Path] = {}


def private_dir(prefix: str) -> Path:
    """A dir only this user can enter, one per prefix and process, removed when the process
    exits: where cache files go when the cache cannot be trusted (a second call finds what
    the first one put there)."""
    path = _private.get(prefix)
    if path is None or not path.is_dir():
        path = _private[prefix] = Path(tempfile.mkdtemp(prefix=f"spyre_hydra-{prefix}-"))
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


__all__ = ["CacheTrustError", "private_dir", "unsafe_dir_reason", "unsafe_file_reason",
           "usable_cache_dir"]

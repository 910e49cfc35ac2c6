"""A user conf dir is data: who may change it, what its files may set, how far a walk goes.

Hydra ranks a user conf dir (--config-dir, conf_dir=, SPYRE_HYDRA_CONF_DIR) before the
shipped tree, and a config file can reach past its group: `# @package _global_` or a
`_global_` defaults package puts keys at the top of the tree, where Hydra instantiates
`hydra.callbacks`, creates `hydra.run.dir` and exports `hydra.job.env_set`; a `config.yaml`
replaces the primary config, and `hydra/` files replace the shipped logging, help and sweeper
configs. So every YAML file of a user root is read (bounded) and held to its own group's
package before anything composes, and the dir is checked like ssh checks ~/.ssh: owned by
the user (or root), writable by nobody else. The shipped tree is trusted and not read here.

    check_user_root(root, strict=None, shipped=None, cache=None)
                                         refuses (ConfigValidationError) or warns; memoised
    walk_yaml(root)                      *.yaml under root: no directory symlink followed
    excerpt(value)                       a short escaped excerpt of file text for messages
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from spyre_hydra.conftree.codeargs import ALLOW_CODE_ENV, custom_code_allowed
from spyre_hydra.conftree.confine import excerpt, file_problems
from spyre_hydra.conftree.walk import MAX_ENTRIES, bounded_walk, walk_yaml
from spyre_hydra.errors import ConfigValidationError, Problem

log = logging.getLogger("spyre_hydra.trust")

#: Not conf trees: the whole filesystem, or kernel views whose files never end.
_PSEUDO = ("/proc", "/sys", "/dev")
_STRICT_ENV = "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"


def _strict(strict: bool | None) -> bool:
    if strict is not None:
        return strict
    return os.environ.get(_STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _writable_by_others(path: str, st, uid: int, parent: bool = False) -> str | None:
    """Why another user could change this entry, or None."""
    if st.st_uid not in (uid, 0):
        return f"{path} is owned by uid {st.st_uid}, not by you (uid {uid}) or root"
    if st.st_mode & 0o022 and not (parent and st.st_mode & stat.S_ISVTX):
        return f"{path} is {'world' if st.st_mode & 0o002 else 'group'}-writable"
    return None


def _parents(root: Path) -> list[str]:
    """Parent dirs another user could use to swap the conf dir (a sticky /tmp is fine)."""
    uid, found = os.geteuid(), []
    for parent in [*reversed(root.parents)]:
        try:
            why = _writable_by_others(str(parent), os.stat(parent), uid, parent=True)
        except OSError:
            continue
        if why:
            found.append(why)
    return found


def _permissions(root: Path, entries) -> list[str]:
    """The conf dir itself, its dirs and its YAML files that another user could change."""
    uid, found = os.geteuid(), []
    for path, st in [(str(root), os.stat(root)), *entries]:
        if stat.S_ISDIR(st.st_mode) or (stat.S_ISREG(st.st_mode) and path.endswith(".yaml")):
            why = _writable_by_others(path, st, uid)
            if why:
                found.append(why)
    return found


def _links(root: Path, entries) -> list[Problem]:
    problems = []
    for path, st in entries:
        if not stat.S_ISLNK(st.st_mode):
            continue
        try:
            target = Path(path).resolve(strict=True)
        except (OSError, RuntimeError):  # broken or a loop: the bounded reader names which
            continue
        if target.is_dir():
            problems.append(Problem(path, "is a symlink to a directory; Hydra would load "
                                    "files through it that this check never sees.", "",
                                    "copy the directory in, or pass it as its own conf dir"))
        elif path.endswith(".yaml") and not target.is_relative_to(root):
            problems.append(Problem(path, "is a symlink leaving the conf dir; it is not "
                                    "read.", "", "copy the file into the conf dir instead "
                                    "of linking to it"))
    return problems


_memo: dict[str, list] = {}
#: Bump when confine.py's rules change: verdicts remembered under older rules are void.
_RULES = 4  # 3, 4: vLLM/torch code-loading env names


def _verdicts(cache, root: Path, allow_code: bool) -> Path:
    import hashlib

    from spyre_hydra._version import __version__

    # a file clean only with the code opt-in must not be remembered clean without it
    key = hashlib.sha256(f"{_RULES}:{__version__}:{allow_code}:{root}".encode()).hexdigest()
    return Path(cache) / "trust" / f"{key}.json"


def _known_clean(path: Path) -> dict:
    import json

    from spyre_hydra.io.reading import InputError, read_bytes_bounded

    try:
        data = json.loads(read_bytes_bounded(path, what="cache file"))
    except (InputError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _content_problems(root: Path, entries, shipped, cache, allow_code: bool) -> list[Problem]:
    """The package rules over every YAML file of root; files whose stat signature (inode,
    size, mtime, ctime: a change of content changes ctime) was found clean before are
    skipped. Symlinked files are always read: their target may change under them."""
    problems = _links(root, entries)
    refused = {p.key for p in problems}
    store = _verdicts(cache, root, allow_code) if cache is not None else None
    known = _known_clean(store) if store is not None else {}
    clean = {}
    for path, st in entries:
        if not path.endswith(".yaml") or path in refused or stat.S_ISDIR(st.st_mode):
            continue
        sig = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        if stat.S_ISREG(st.st_mode) and known.get(path) == sig:
            clean[path] = sig
            continue
        found = file_problems(root, Path(path), shipped and Path(shipped), allow_code)
        problems += found
        if not found and stat.S_ISREG(st.st_mode):
            clean[path] = sig
    if store is not None and clean != known:
        import json

        from spyre_hydra.io.cache_write import write_cache
        from spyre_hydra.io.writer import OutputError

        try:
            write_cache(store, json.dumps(clean))
        except (OSError, OutputError) as exc:  # a read-only cache only costs speed
            log.debug("conf dir verdicts not written: %s", exc)
    return problems


def check_user_root(root, strict: bool | None = None, shipped=None, cache=None) -> None:
    """Refuse a user conf dir whose files reach past their own group (always), or that
    other users can change (with strict, SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG=1; else one
    warning). vLLM arguments that name code (conftree/codeargs.py) are refused in its files
    unless SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1. A file equal to the `shipped` tree's at the same
    place is the shipped one.
    Files found clean are remembered under `cache` (a dir) by their stat signature, so a
    large conf dir is parsed once, not on every launch.
    Nothing of the dir is composed or imported here."""
    root = Path(root).resolve()
    text = str(root)
    if root == Path(root.anchor) or any(text == p or text.startswith(p + "/") for p in _PSEUDO):
        raise ConfigValidationError([Problem(text, "is not a conf tree (the filesystem root "
                                             "or a kernel view such as /proc).", "",
                                             "pass the dir holding model/, device/ ...")],
                                    "cannot read the conf tree")
    entries = list(bounded_walk(root))
    top = os.stat(root)
    allow_code = custom_code_allowed()
    signature = ((allow_code, top.st_mode, top.st_uid, top.st_ino, top.st_ctime_ns), *(
        (p, s.st_mode, s.st_uid, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
        for p, s in entries))
    memo = _memo.get(text)
    if memo is None or memo[0] != signature:  # parsed once per content, per process
        memo = _memo[text] = [signature, _content_problems(root, entries, shipped, cache,
                                                            allow_code),
                              _permissions(root, entries), False]
    if memo[1]:
        code = all(ALLOW_CODE_ENV in p.fix for p in memo[1])
        raise ConfigValidationError(memo[1], f"conf dir {text} " + (
            "names code for vLLM to run" if code else "reaches past its config groups"))
    others = [*_parents(root), *memo[2]]  # the signature holds every entry's mode and owner
    if not others:
        return
    shown = "; ".join(others[:5]) + (f"; and {len(others) - 5} more" if len(others) > 5 else "")
    fix = (f"chmod -R go-w {text} and chown -R it to yourself, or use a copy you own")
    if _strict(strict):
        raise ConfigValidationError([Problem(text, f"other users can change it: {shown}.", "",
                                             fix)], "untrusted conf dir (strict mode)")
    if not memo[3]:
        memo[3] = True
        log.warning("spyre_hydra: warning: conf dir %s: other users can change it (%s); "
                    "strict=true or %s=1 refuses it. Fix: %s.", text, shown, _STRICT_ENV, fix)


__all__ = ["MAX_ENTRIES", "check_user_root", "excerpt", "walk_yaml"]

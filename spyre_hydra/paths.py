"""Where the conf tree lives and which options each config group offers."""

from __future__ import annotations

import os
from pathlib import Path

GROUPS = ("model", "device", "sendnn_version", "runtime", "backend", "sweep")
#: Model options that are not catalog entries.
PSEUDO_MODELS = ("auto",)


_user_conf_dir: Path | None = None


def set_user_conf_dir(path: str | os.PathLike | None) -> None:
    """Rank ``path`` ahead of the shipped tree in Hydra's search path (see hydra_plugins/)."""
    global _user_conf_dir
    _user_conf_dir = Path(path).resolve() if path is not None else None


def user_conf_dir() -> Path | None:
    """The conf dir set by --config-dir / conf_dir=, if any."""
    return _user_conf_dir


def shipped_conf_dir() -> Path:
    """The conf tree of this installation: inside the wheel, or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"spyre_hydra's conf/ tree is missing next to {here}")


def search_path(conf_dir: str | os.PathLike | None = None) -> list[Path]:
    """Roots searched in order: a user's conf dir first, then the shipped one."""
    shipped = shipped_conf_dir()
    if conf_dir is None:
        return [shipped]
    user = Path(conf_dir).resolve()
    if not user.is_dir():
        from .errors import UnknownOptionError

        raise UnknownOptionError(f"conf dir {str(conf_dir)!r} is not a directory. Fix: pass a "
                                 "conf tree (e.g. the output of `spyre-hydra import-legacy`).")
    return [user] if user == shipped else [user, shipped]


def group_options(group: str, roots: list[Path]) -> list[str]:
    """Option names of a group across the search path (no family bases or sub-folders)."""
    names: set[str] = set()
    for root in roots:
        folder = root / group
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.yaml"))
    return sorted(names)


def model_files(roots: list[Path]) -> dict[str, Path]:
    """Catalog model option -> file, from the first root that has model files.

    A user conf dir with models is a catalog of its own (e.g. one written by import-legacy):
    the shipped models are not listed with it, though its files may still inherit the
    shipped family bases. A conf dir without models keeps the shipped catalog.
    """
    for root in roots:
        found = {p.stem: p for p in sorted((root / "model").glob("*.yaml"))
                 if p.stem not in PSEUDO_MODELS}
        if found:
            return found
    return {}


def find_config(rel: str, roots: list[Path]) -> Path | None:
    """Resolve a config path such as `model/family/base` against the search path."""
    for root in roots:
        path = root / f"{rel}.yaml"
        if path.is_file():
            return path
    return None


def cache_dir() -> Path:
    """User cache dir for spyre_hydra: SPYRE_HYDRA_CACHE, else $XDG_CACHE_HOME/spyre_hydra,
    else ~/.cache/spyre_hydra."""
    env = os.environ.get("SPYRE_HYDRA_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "spyre_hydra"

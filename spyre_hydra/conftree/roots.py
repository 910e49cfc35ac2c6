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
    if path is not None and Path(path).resolve() != shipped_conf_dir():
        from spyre_hydra.conftree.trust import check_user_root

        # what Hydra is about to load: refused before it does
        check_user_root(path, shipped=shipped_conf_dir(), cache=cache_dir())
    _user_conf_dir = Path(path).resolve() if path is not None else None


def user_conf_dir() -> Path | None:
    """The conf dir set by --config-dir / conf_dir=, if any."""
    return _user_conf_dir


def shipped_conf_dir() -> Path:
    """The conf tree of this installation: inside the wheel, or at the top of a checkout."""
    here = Path(__file__).resolve().parents[1]  # spyre_hydra/, beside conftree/
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"spyre_hydra's conf/ tree is missing next to {here}")


def search_path(conf_dir: str | os.PathLike | None = None) -> list[Path]:
    """Roots searched in order: a user's conf dir first, then the shipped one."""
    shipped = shipped_conf_dir()
    if conf_dir is None:
        return [shipped]
    from spyre_hydra.errors import UnknownOptionError

    try:
        user = Path(conf_dir).resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        user = None
    if user is None or not user.is_dir():
        raise UnknownOptionError(f"conf dir {str(conf_dir)!r} is not a directory. Fix: pass a "
                                 "conf tree (e.g. the output of `spyre-hydra import-legacy`).")
    if user == shipped:
        return [user]
    from spyre_hydra.conftree.trust import check_user_root

    # every reader of a user root comes through here before it reads a file
    check_user_root(user, shipped=shipped, cache=cache_dir())
    return [user, shipped]


#: A conf dir's own statement about the shipped catalog (import-legacy writes it).
CATALOG_MARKER = "spyre_hydra_catalog.yaml"


def replaces_shipped(root: Path) -> bool:
    """True when `root` says, in its CATALOG_MARKER, that its models replace the shipped
    ones (`replaces_shipped: true`); a conf dir without it overlays the shipped catalog."""
    import yaml

    marker = Path(root) / CATALOG_MARKER
    if not marker.is_file():
        return False
    try:
        from spyre_hydra.io.reading import InputError, read_text_bounded

        data = yaml.safe_load(read_text_bounded(marker, what="catalog marker")) or {}
    except (OSError, InputError, yaml.YAMLError) as exc:
        from spyre_hydra.errors import UnknownOptionError

        raise UnknownOptionError(f"{marker}: cannot read it ({exc}). Fix: make it a YAML "
                                 "mapping such as `replaces_shipped: true`.") from None
    value = data.get("replaces_shipped") if isinstance(data, dict) else None
    if not isinstance(value, bool):
        from spyre_hydra.errors import UnknownOptionError

        raise UnknownOptionError(f"{marker}: replaces_shipped is {value!r}. Valid: true or "
                                 "false. Fix: `replaces_shipped: true` (or delete the file to "
                                 "overlay the shipped catalog).")
    return value


def catalog_roots(roots: list[Path]) -> list[Path]:
    """The roots whose model files are catalog models: every root down to (and including)
    the first that replaces the shipped catalog. One meaning for a user conf dir in
    spyre-launch, list/check/explain/exports and get_model_registry(conf_dir=)."""
    out = []
    for root in roots:
        out.append(root)
        if replaces_shipped(root):
            break
    return out


def group_options(group: str, roots: list[Path]) -> list[str]:
    """Option names of a group across the search path (no family bases or sub-folders);
    for `model`, the catalog's models (catalog_roots) and the pseudo models."""
    names: set[str] = set()
    if group == "model":
        names.update(model_files(roots))
        names.update(m for m in PSEUDO_MODELS if find_config(f"model/{m}", roots))
        return sorted(names)
    for root in roots:
        folder = root / group
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.yaml"))
    return sorted(names)


def model_files(roots: list[Path]) -> dict[str, Path]:
    """Catalog model option -> file. A user conf dir overlays the shipped catalog (its
    files win by name, the shipped models stay); one whose CATALOG_MARKER says
    `replaces_shipped: true` (as import-legacy writes) is the whole catalog, though its
    files may still inherit the shipped family bases."""
    found: dict[str, Path] = {}
    for root in catalog_roots(roots):
        for p in sorted((root / "model").glob("*.yaml")):
            if p.stem not in PSEUDO_MODELS:
                found.setdefault(p.stem, p)
    return dict(sorted(found.items(), key=lambda item: item[0]))


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

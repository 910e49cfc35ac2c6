"""The one reader of a checkpoint's config.json (plan time: no transformers, no torch).

`model=auto model_path=DIR` and the `model.path` input check both read it through
:func:`load_config_json`; each caller words the failure for its own key.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from spyre_hydra.errors import SpyreHydraError, UnknownOptionError

#: A real config.json is a few KB; anything this big is not one (and is not read whole).
MAX_BYTES = 10 * 1024 * 1024


class ConfigJsonError(SpyreHydraError):
    """config.json cannot be used; `kind` says why (missing, no_config, unreadable, bad_json,
    not_object), `file` which file, `detail` the underlying reason."""

    def __init__(self, kind: str, file: Path, detail: str = ""):
        self.kind, self.file, self.detail = kind, file, detail
        super().__init__(f"{file}: {kind} {detail}".strip())


def config_json_path(model_path: str | Path) -> Path:
    """DIR/config.json for a directory (or a suffix-less name), else the file itself."""
    path = Path(model_path).expanduser()
    return path / "config.json" if path.is_dir() or not path.suffix else path


def load_config_json(model_path: str | Path) -> dict[str, Any]:
    """The parsed JSON object of a checkpoint's config.json; raises ConfigJsonError."""
    path = Path(model_path).expanduser()
    file = config_json_path(path)
    if not path.exists():
        raise ConfigJsonError("missing", file)
    if not file.is_file():
        raise ConfigJsonError("no_config", file)
    from spyre_hydra.io.reading import InputError, read_bytes_bounded

    try:  # the one bounded reader: regular files only, never past the cap
        raw = read_bytes_bounded(file, MAX_BYTES, "config.json")
    except InputError as exc:
        code = "bad_json" if "limit" in exc.why else "unreadable"
        raise ConfigJsonError(code, file, exc.why.rstrip(".")) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigJsonError("bad_json", file, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigJsonError("not_object", file)
    return data


def read_hf_config(model_path: str | Path) -> dict[str, Any]:
    """config.json for `model_path=DIR` (model=auto): must hold a string model_type."""
    shown = repr(str(model_path))
    try:
        data = load_config_json(model_path)
    except ConfigJsonError as exc:
        why = {"missing": f"model_path={shown} does not exist. Fix: point model_path at a "
                          "checkpoint directory holding config.json.",
               "no_config": f"model_path={shown} has no config.json. Fix: point it at a "
                            "Hugging Face checkpoint directory.",
               "unreadable": f"{exc.file} cannot be read ({exc.detail}). Fix: check its "
                             "permissions, or point model_path at a readable checkpoint.",
               "not_object": f"{exc.file} has no 'model_type' key, so it cannot be matched. "
                             "Fix: use the checkpoint's real config.json.",
               }.get(exc.kind, f"{exc.file} is not valid JSON ({exc.detail or 'not an object'})"
                               ". Fix: repair or re-download the checkpoint's config.json.")
        raise UnknownOptionError(why) from None
    if "model_type" not in data:
        raise UnknownOptionError(f"{config_json_path(model_path)} has no 'model_type' key, so "
                                 "it cannot be matched. Fix: use the checkpoint's real "
                                 "config.json.")
    if not isinstance(data["model_type"], str):
        raise UnknownOptionError(f"{config_json_path(model_path)}: model_type="
                                 f"{data['model_type']!r} is not a string, so it cannot be "
                                 "matched. Fix: use the checkpoint's real config.json.")
    return data


def as_object(data: dict[str, Any]) -> SimpleNamespace:
    """Attribute access like a transformers config (sub-configs stay dicts: matched by key)."""
    return SimpleNamespace(**data)

"""Read a checkpoint's config.json without transformers (plan-time, no heavy imports)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .errors import UnknownOptionError


def read_hf_config(model_path: str | Path) -> dict[str, Any]:
    """The parsed config.json of a checkpoint directory, with a clear error when absent/bad."""
    path = Path(model_path)
    file = path / "config.json" if path.is_dir() or not path.suffix else path
    if not path.exists():
        raise UnknownOptionError(f"model_path={str(model_path)!r} does not exist. Fix: point "
                                 "model_path at a checkpoint directory holding config.json.")
    if not file.is_file():
        raise UnknownOptionError(f"model_path={str(model_path)!r} has no config.json. Fix: "
                                 "point it at a Hugging Face checkpoint directory.")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnknownOptionError(f"{file} is not valid JSON ({exc}). Fix: repair or re-download "
                                 "the checkpoint's config.json.") from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise UnknownOptionError(f"{file} has no 'model_type' key, so it cannot be matched. "
                                 "Fix: use the checkpoint's real config.json.")
    if not isinstance(data["model_type"], str):
        raise UnknownOptionError(f"{file}: model_type={data['model_type']!r} is not a string, "
                                 "so it cannot be matched. Fix: use the checkpoint's real "
                                 "config.json.")
    return data


def as_object(data: dict[str, Any]) -> SimpleNamespace:
    """Attribute access like a transformers config (sub-configs stay dicts: matched by key)."""
    return SimpleNamespace(**data)

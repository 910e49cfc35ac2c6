"""Fixtures for hostile-user tests; the helpers live in hostile_helpers.py."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import hostile_helpers as helpers
import pytest


@pytest.fixture
def shared_tmp():
    """A temp dir every user can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="hostile-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def hz():
    """The helpers above, as a fixture (tests/engine has a conftest too)."""
    return SimpleNamespace(**{k: getattr(helpers, k) for k in (
        "KINDS", "make_kind", "snapshot", "changed", "clean_error", "run_tool", "as_nobody")})

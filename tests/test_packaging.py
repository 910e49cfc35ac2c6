"""The wheel must carry every conf/ folder: setuptools ships only listed packages."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_conf_folder_is_a_listed_package():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {"spyre_hydra.conf" + ("." + ".".join(p.relative_to(ROOT / "conf").parts)
                                     if p != ROOT / "conf" else "")
               for p in (ROOT / "conf").rglob("*") if p.is_dir()} | {"spyre_hydra.conf"}
    missing = sorted(folders - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"


def test_every_python_package_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    packages = {".".join(p.parent.relative_to(ROOT).parts)
                for p in (ROOT / "spyre_hydra").rglob("__init__.py")}
    assert packages <= listed, f"unlisted: {sorted(packages - listed)}"

"""The wheel must carry every conf/ folder: setuptools ships only listed packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

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
    """Every folder with Python modules, with or without __init__.py (a folder without one
    is left out of the wheel as silently as an unlisted one)."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    packages = {".".join(p.parent.relative_to(ROOT).parts)
                for top in ("spyre_hydra", "hydra_plugins") for p in (ROOT / top).rglob("*.py")
                if "__pycache__" not in p.parts and p.parent != ROOT / "hydra_plugins"}
    assert packages <= listed, f"unlisted: {sorted(packages - listed)}"
    missing_init = sorted(p for p in packages if p.startswith("spyre_hydra") and
                          not (ROOT.joinpath(*p.split(".")) / "__init__.py").is_file())
    assert not missing_init, f"add an __init__.py to {missing_init}"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_build_requires_a_setuptools_that_reads_spdx_license_strings():
    from packaging.requirements import Requirement

    reqs = [Requirement(r) for r in _pyproject()["build-system"]["requires"]]
    setuptools = next(r for r in reqs if r.name == "setuptools")
    assert _pyproject()["project"]["license"] == "Apache-2.0"
    assert not setuptools.specifier.contains("70.0") and setuptools.specifier.contains("77.0")


def test_py_typed_marker_is_package_data():
    assert (ROOT / "spyre_hydra" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["spyre_hydra"]


def test_engine_extra_keeps_ranges_and_the_setup_script_pins():
    import re

    from packaging.requirements import Requirement

    extra = [Requirement(r) for r in _pyproject()["project"]["optional-dependencies"]["engine"]]
    assert all(s.operator not in ("==", "===") for r in extra for s in r.specifier), extra
    script = (ROOT / "launch" / "setup_engine.sh").read_text()
    reqs = re.search(r"^REQS=\((.*)\)$", script, re.M).group(1)
    pinned = re.search(r"\btransformers==(\S+)", reqs).group(1)
    transformers = next(r for r in extra if r.name == "transformers")
    assert transformers.specifier.contains(pinned), (pinned, transformers)


@pytest.mark.slow
def test_wheel_ships_py_typed_and_the_conf_tree(tmp_path):
    """Build from a copy (setuptools writes build/ next to pyproject.toml)."""
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in ("spyre_hydra", "conf", "hydra_plugins"):
        shutil.copytree(ROOT / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path / "dist"), str(src)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("spyre_hydra-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {"spyre_hydra/conf/" + p.relative_to(ROOT / "conf").as_posix()
               for p in (ROOT / "conf").rglob("*.yaml")}
    assert "spyre_hydra/py.typed" in names
    assert "spyre_hydra/plan/vllm_engine_args.json" in names  # the plan-time engine_args check
    modules = {p.relative_to(ROOT).as_posix() for top in ("spyre_hydra", "hydra_plugins")
               for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts}
    assert modules <= names, sorted(modules - names)[:5]
    assert "hydra_plugins/spyre_sweeper/spyre_sweeper.py" in names  # where Hydra's scan looks
    assert shipped and shipped <= names, sorted(shipped - names)[:5]

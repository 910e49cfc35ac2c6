"""Family files that name each other: the catalog's fast path names the ring of files, as
Hydra's own compose does (checks/conftree), instead of recursing."""

from __future__ import annotations

import pytest

from spyre_hydra.catalog.loader import load_catalog
from spyre_hydra.conftree.tree import ConfTree
from spyre_hydra.errors import ConfigValidationError

RINGS = {"self": {"a": "a"}, "two": {"a": "b", "b": "a"}, "three": {"a": "b", "b": "c", "c": "a"}}


def _ring(root, ring: dict[str, str]):
    (root / "model" / "family").mkdir(parents=True)
    for name, base in ring.items():
        (root / "model" / "family" / f"{name}.yaml").write_text(
            f"defaults:\n  - {base}@_here_\n  - _self_\n")
    (root / "model" / "m.yaml").write_text(
        "defaults:\n  - family/a@_here_\n  - _self_\nhf_id: x/m\n")


@pytest.mark.parametrize("ring", RINGS.values(), ids=RINGS.keys())
def test_a_ring_of_family_files_is_named(tmp_path, ring):
    _ring(tmp_path, ring)
    with pytest.raises(ConfigValidationError, match=r"family/a\.yaml: its defaults list comes "
                                                    r"back to itself: .*family/a\.yaml\. Fix:"):
        load_catalog(ConfTree.at(tmp_path), use_cache=False)


def test_list_names_the_ring_and_exits_2(h, tmp_path):
    _ring(tmp_path / "c", RINGS["two"])
    proc = h.run_cli(["list", "--config-dir", str(tmp_path / "c")], tmp_path, prog="spyre-hydra")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "a.yaml -> " in proc.stderr and "b.yaml -> " in proc.stderr and "Fix:" in proc.stderr

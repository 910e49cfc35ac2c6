"""One meaning for a user conf dir: it overlays the shipped catalog everywhere, unless its
spyre_hydra_catalog.yaml says `replaces_shipped: true` (as import-legacy writes), and then it
replaces it everywhere. README's "Adding a model" works without a checkout."""

from __future__ import annotations

import json

import pytest

from spyre_hydra.catalog.registry import get_model_registry
from spyre_hydra.conftree.roots import CATALOG_MARKER, search_path, shipped_conf_dir
from spyre_hydra.errors import UnknownOptionError

MY_GRANITE = """\
defaults:
  - family/granite_33_8b@_here_
  - _self_
hf_id: my-org/my-granite-3.3-8b
architecture:
  vocab_size: 49200
"""


@pytest.fixture
def user_dir(tmp_path):
    """README's "Adding a model": one model file in a user dir, nothing else."""
    (tmp_path / "mine" / "model").mkdir(parents=True)
    (tmp_path / "mine" / "model" / "my_granite.yaml").write_text(MY_GRANITE)
    return tmp_path / "mine"


def test_overlay_keeps_the_shipped_models(user_dir):
    shipped = get_model_registry().list_options()
    options = get_model_registry(user_dir).list_options()
    assert set(options) == {*shipped, "my_granite"}
    assert get_model_registry(user_dir).get_model_config("my_granite").architecture[
        "vocab_size"] == 49200


def test_overlay_is_the_same_in_every_tool(h, user_dir, tmp_path):
    listed = json.loads(h.run_cli(["list", "--format", "json", "--config-dir", str(user_dir)],
                                  tmp_path, prog="spyre-hydra").stdout)
    assert len(listed) == len(get_model_registry().list_options()) + 1
    check = h.run_cli(["check", "--config-dir", str(user_dir)], tmp_path, prog="spyre-hydra")
    assert f"catalog: {len(listed)} models" in check.stdout
    for model in ("my_granite", "granite_8b"):  # the user's model and a shipped one
        proc = h.run_cli(["--config-dir", str(user_dir), f"model={model}", "device=tp4",
                          "mode=plan", "backend=eager"], tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["option"] == model
    explain = h.run_cli(["explain", "model=my_granite", "device=tp4", "backend=eager",
                         "--config-dir", str(user_dir)], tmp_path, prog="spyre-hydra")
    assert explain.returncode == 0 and "my-org/my-granite-3.3-8b" in explain.stdout


def test_marker_replaces_the_shipped_catalog_everywhere(h, user_dir, tmp_path):
    (user_dir / CATALOG_MARKER).write_text("replaces_shipped: true\n")
    assert get_model_registry(user_dir).list_options() == ["my_granite"]
    listed = json.loads(h.run_cli(["list", "--format", "json", "--config-dir", str(user_dir)],
                                  tmp_path, prog="spyre-hydra").stdout)
    assert [r["option"] for r in listed] == ["my_granite"]
    proc = h.run_cli(["--config-dir", str(user_dir), "model=granite_8b", "mode=plan"],
                     tmp_path)
    assert proc.returncode == 2 and "model has no option 'granite_8b'" in proc.stderr
    assert "Valid options: auto, my_granite" in proc.stderr


def test_import_legacy_writes_the_marker(h, tmp_path):
    from spyre_hydra.conftree.roots import replaces_shipped

    src = h.repo / "tests" / "data" / "legacy"
    source = sorted(src.glob("*.yaml"))[0]
    out = tmp_path / "imported"
    proc = h.run_cli(["import-legacy", str(source), "--out", str(out)], tmp_path,
                     prog="spyre-hydra")
    assert proc.returncode == 0, proc.stderr
    assert replaces_shipped(out)
    options = get_model_registry(out).list_options()
    assert options and not set(options) & {"tiny_granite", "tiny_llama"}


@pytest.mark.parametrize("text,match", [
    ("replaces_shipped: yes please\n", "replaces_shipped is 'yes please'. Valid: true or false"),
    ("replaces_shipped: [\n", "malformed YAML")])  # the conf dir's first reading says so
def test_bad_marker_is_a_clear_error(user_dir, text, match):
    from spyre_hydra.conftree.roots import model_files

    from spyre_hydra.errors import SpyreHydraError

    (user_dir / CATALOG_MARKER).write_text(text)
    with pytest.raises(SpyreHydraError, match=match):
        model_files(search_path(user_dir))


def test_shipped_tree_alone_is_unchanged():
    assert search_path() == [shipped_conf_dir()]
    assert "tiny_granite" in get_model_registry().list_options()

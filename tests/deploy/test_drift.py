"""`spyre-hydra check --against-installed`: the composed catalog against the installed
plugin's own model_configs.yaml (sendnn-inference 2.6.3) and a modified copy of it."""

from __future__ import annotations

import pytest
import yaml

from spyre_hydra.legacy.drift import (
    compare,
    installed_catalog_path,
    missing_from_catalog,
    read_models,
)

pytestmark = pytest.mark.skipif(installed_catalog_path() is None,
                                reason="needs the Spyre plugin (sendnn-inference) installed")


@pytest.fixture(scope="module")
def imported(tmp_path_factory, h):
    """The installed plugin's catalog imported as a conf tree (it replaces the shipped one)."""
    out = tmp_path_factory.mktemp("imp") / "conf"
    proc = h.run_cli(["import-legacy", str(installed_catalog_path()), "--out", str(out)],
                     out.parent, prog="spyre-hydra")
    assert proc.returncode == 0, proc.stderr
    return out


def test_plugin_file_found_from_metadata_without_importing_it():
    import subprocess
    import sys

    code = ("import sys; from spyre_hydra.legacy.drift import installed_catalog_path as f; p = f(); "
            "print(p.name, 'sendnn_inference' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["model_configs.yaml", "False", "False"]


def test_imported_installed_catalog_has_no_drift(h, imported, tmp_path):
    proc = h.run_cli(["check", "--against-installed", "--config-dir", str(imported)], tmp_path,
                     prog="spyre-hydra")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no differences" in proc.stdout


def test_modified_copy_is_reported_and_exits_1(h, imported, tmp_path):
    data = yaml.safe_load(installed_catalog_path().read_text())
    models = data["models"]
    dropped = "ibm-granite/granite-3.3-8b-instruct"
    del models[dropped]
    models["acme/new-model"] = {"architecture": {"model_type": "acme"},
                                "continuous_batching_configs": [
                                    {"tp_size": 1, "max_model_len": 64, "max_num_seqs": 1}]}
    changed = next(m for m in models.values() if any(
        c.get("device_config") for c in m.get("continuous_batching_configs", [])))
    entry = next(c for c in changed["continuous_batching_configs"] if c.get("device_config"))
    entry["device_config"]["num_gpu_blocks_override"] = 1234
    copy = tmp_path / "model_configs.yaml"
    copy.write_text(yaml.safe_dump(data))
    proc = h.run_cli(["check", "--against-installed", "--config-dir", str(imported),
                      "--installed-file", str(copy)], tmp_path, prog="spyre-hydra")
    assert proc.returncode == 1, proc.stderr
    assert f"only in the composed catalog: {dropped}" in proc.stdout
    assert "only in the installed plugin: acme/new-model" in proc.stdout
    assert "num_gpu_blocks_override: composed" in proc.stdout and "installed 1234" in proc.stdout


def test_shipped_catalog_against_installed_names_the_difference(h, tmp_path):
    proc = h.run_cli(["check", "--against-installed"], tmp_path, prog="spyre-hydra")
    assert proc.returncode == 1
    assert "differs: ibm-granite/granite-3.3-8b-instruct static_batching_configs" in proc.stdout
    assert "not compared: spyre_hydra's builtin models spyre-hydra/tiny-granite" in proc.stdout


def test_installed_file_needs_against_installed(h, tmp_path):
    proc = h.run_cli(["check", "--installed-file", "x.yaml"], tmp_path, prog="spyre-hydra")
    assert proc.returncode == 2 and "Fix: add --against-installed" in proc.stderr


def test_missing_from_catalog_names_models_a_launch_would_drop(tmp_path):
    mine = tmp_path / "mine.yaml"
    installed = read_models(installed_catalog_path())
    keep = dict(list(installed.items())[:-2])
    mine.write_text(yaml.safe_dump({"models": keep}))
    assert missing_from_catalog(mine) == list(installed)[-2:]


def test_compare_normalises_what_the_plugin_does_not_read():
    ours = {"m": {"architecture": {"model_type": "x"}, "platforms": ["b", "a"],
                  "static_batching_configs": [{"tp_size": 1, "warmup_shapes": [
                      {"prompt_len": 64, "new_tokens": 0, "batch_size": 1}]}],
                  "continuous_batching_configs": [{"tp_size": 4, "device_config": {
                      "env_vars": {"A": "1"}, "chunked_prefill_config": {"x": 1}}}]}}
    theirs = {"m": {"architecture": {"model_type": "x"}, "platforms": ["a", "b"],
                    "static_batching_configs": [{"tp_size": 1, "warmup_shapes": [
                        {"prompt_len": 64, "batch_size": 1}]}],
                    "continuous_batching_configs": [{"tp_size": 4, "device_config": {
                        "env_vars": {"A": 1}}}]}}
    assert compare(ours, theirs) == {"only_ours": [], "only_installed": [], "different": {}}
    theirs["m"]["architecture"]["hidden_size"] = 8
    assert compare(ours, theirs)["different"] == {
        "m": [("architecture.hidden_size", None, 8)]}

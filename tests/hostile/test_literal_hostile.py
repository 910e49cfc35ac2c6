"""Data never becomes code: legacy values stay literal through import, Hydra, the registry and
export; env var names that a shell would run are refused; shell assignments are quoted."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from hostile_helpers import changed, clean_error, run_tool, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from spyre_hydra.catalog.registry import ModelConfigRegistry, reset_registries
from spyre_hydra.conftree.compose import compose_launch
from spyre_hydra.io.literal import ShellNameError, escape, shell_assign, shell_default, unescape
from spyre_hydra.legacy.exporter import export_legacy
from spyre_hydra.legacy.importer import import_legacy

SECRET = "s3cr3t-value-do-not-leak"
VALUES = ["${oc.env:SECRET,unset}", "${oc.env:SECRET}", "${oc.decode:'{a: 1}'}", "${${a}}",
          "\\${x}", "\\\\${oc.env:SECRET}", "${oc.create:{}}", "${spyre.sendnn_version:}",
          "${hydra:runtime.cwd}", "${model.hf_id}", "pre ${oc.env:SECRET} post", "${",
          "$(touch x)", "`touch x`", "'; touch x; echo '", "a\\b", "%(x)s {x}"]


def _source(tmp_path, env: dict, hf_id: str = "org/lit-model"):
    src = tmp_path / "src.yaml"
    src.write_text(yaml.safe_dump({"models": {hf_id: {
        "architecture": {"model_type": "granite", "vocab_size": 7},
        "continuous_batching_configs": [{"tp_size": 1, "max_model_len": 2048, "max_num_seqs": 4,
                                         "device_config": {"env_vars": env}}]}}}))
    return src


@pytest.mark.parametrize("value", VALUES)
def test_legacy_value_stays_literal_everywhere(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SECRET", SECRET)
    out = tmp_path / "conf"
    (option,) = import_legacy(_source(tmp_path, {"LEAK": value}), out)
    entry = ModelConfigRegistry(out, use_cache=False).get_model_config(option)
    assert entry.device_configs["tp1"]["env_vars"]["LEAK"] == value
    cfg = compose_launch([f"model={option}", "device=tp1"], conf_dir=out)
    assert OmegaConf.to_container(cfg.selected, resolve=True)["env"]["LEAK"] == value
    export_legacy(tmp_path / "back.yaml", out, "1.0.3")
    text = (tmp_path / "back.yaml").read_text()
    assert SECRET not in text
    models = yaml.safe_load(text)["models"]
    assert models["org/lit-model"]["continuous_batching_configs"][0]["device_config"][
        "env_vars"]["LEAK"] == value
    reset_registries()
    again = tmp_path / "again"
    import_legacy(tmp_path / "back.yaml", again)  # the round trip keeps it literal too
    assert ModelConfigRegistry(again).get_model_config(option).device_configs["tp1"][
        "env_vars"]["LEAK"] == value
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("hf_id", ["org/${oc.env:SECRET}", "${oc.decode:'1'}/x"])
def test_interpolation_in_hf_id_is_refused_before_writing(tmp_path, capsys, monkeypatch,
                                                          hf_id):
    # An hf_id is an org/name (issue 18): `${` is never one, so it never reaches Hydra.
    monkeypatch.setenv("SECRET", SECRET)
    src = _source(tmp_path, {"A": "1"}, hf_id)
    before = snapshot(tmp_path)
    code, _, err = run_tool(capsys, "import-legacy", src, "--out", tmp_path / "conf")
    clean_error(code, err, f"models.{hf_id}", "is not a Hugging Face id", "nothing was written")
    assert SECRET not in err and changed(before, snapshot(tmp_path)) == []


BAD_NAMES = ["X=1; touch y", "1ABC", "A-B", "A B", "$(touch y)", "A\nB", "é", "A.B", "",
             "A;B", "`id`", "PATH=/tmp:$PATH"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_env_var_name_refused_by_import_before_writing(tmp_path, capsys, name):
    src = _source(tmp_path, {name: "1"})
    before = snapshot(tmp_path)
    code, _, err = run_tool(capsys, "import-legacy", src, "--out", tmp_path / "out")
    clean_error(code, err, "models.org/lit-model.device_configs.tp1.env_vars", repr(name),
                "nothing was written")
    assert changed(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_env_var_name_refused_when_the_catalog_loads(conf_copy, capsys, name):
    path = conf_copy / "model" / "granite_8b.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("device_configs", {}).setdefault("tp4", {})["env_vars"] = {name: "1"}
    path.write_text(yaml.safe_dump(data))
    code, _, err = run_tool(capsys, "list", "--config-dir", conf_copy)
    clean_error(code, err, "granite_8b.device_configs.tp4.env_vars", repr(name))


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]),
               max_size=40))
def test_shell_assign_round_trips_any_value(value):
    script = f"{shell_assign('V', value)}\nprintf %s \"$V\"\n{shell_default('W', value)}\n" \
             "printf %s \"$W\""
    proc = subprocess.run(["sh", "-c", script], capture_output=True, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0
    assert proc.stdout == (value + value).encode()


@pytest.mark.parametrize("name", BAD_NAMES)
def test_shell_assign_refuses_bad_names(name):
    with pytest.raises(ShellNameError, match="is not a POSIX name.*Fix: rename it"):
        shell_assign(name, "1")


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text(st.sampled_from(list("\\${}:ab.' ")), max_size=12),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
                        st.text(st.sampled_from("ab_"), min_size=1, max_size=4), kids,
                        max_size=3), max_leaves=12))
def test_random_yaml_trees_survive_omegaconf_literally(tree):
    escaped = escape({"root": tree})
    reloaded = yaml.safe_load(yaml.safe_dump(escaped))  # as import-legacy writes and reads it
    assert OmegaConf.to_container(OmegaConf.create(reloaded), resolve=True) == {"root": tree}
    assert unescape(reloaded) == {"root": tree}


@pytest.mark.parametrize("field", ["model_type", "vocab_size"])
def test_hf_config_interpolation_is_not_resolved(tmp_path, h, field):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    config = {"model_type": "granite", "vocab_size": 49159, field: "${oc.env:SECRET}"}
    (ckpt / "config.json").write_text(json.dumps(config))
    proc = h.run_cli(["model=auto", f"model_path={ckpt}", "mode=plan"], tmp_path,
                     SECRET=SECRET)
    assert SECRET not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr

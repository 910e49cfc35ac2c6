"""import-legacy / export-legacy: the plugin's model_configs.yaml to a conf tree and back.

The oracle for matching is the plugin's own rule, re-implemented here in a few lines: among
patterns that match, the largest field count wins, and the first in file order breaks ties.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from spyre_hydra.catalog.registry import get_model_registry, reset_registries
from spyre_hydra.conftree.roots import shipped_conf_dir
from spyre_hydra.conftree.versions import select_block_override
from spyre_hydra.errors import LegacyFormatError, VersionError
from spyre_hydra.io.hfconfig import as_object, read_hf_config
from spyre_hydra.io.writer import OutputError
from spyre_hydra.legacy.exporter import export_legacy
from spyre_hydra.legacy.importer import import_legacy
from spyre_hydra.legacy.layout import unique_names

DATA = Path(__file__).parent / "data"
LEGACY = DATA / "legacy"
SOURCES = {"2.6.3": LEGACY / "sendnn_inference_2_6_3.yaml",
           "1.10.0": LEGACY / "vllm_spyre_1_10_0.yaml",
           "seed": LEGACY / "seed_schema.yaml"}
HF_CONFIGS = sorted((DATA / "hf_configs").glob("*/*/config.json"))
#: Documented differences between a plugin catalog and the shipped conf, per (source, hf_id).
EXCEPTIONS = {
    ("1.10.0", "ibm-granite/granite-4-8b-dense"): {
        "architecture": "1.10.0's granite-4-8b-dense pattern is the granitemoehybrid one; "
                        "2.6.3 renamed that entry granite-4-8b-dense-hybrid and gave "
                        "granite-4-8b-dense the dense granite pattern, which we ship",
        "static": "we ship 2.6.3's granite-4-8b-dense, which has no static entries",
        "blocks 1.0.2": "1.10.0 gives it the version-aware 2080/8192 anchor; the shipped entry "
                        "follows 2.6.3's plain 8192"},
}


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPYRE_HYDRA_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield
    reset_registries()


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """source name -> (conf dir, registry) of each fixture, imported once."""
    out = {}
    for name, src in SOURCES.items():
        conf = tmp_path_factory.mktemp("imported") / name
        import_legacy(src, conf)
        out[name] = (conf, get_model_registry(conf))
    return out


def source_models(name: str) -> dict:
    return yaml.safe_load(SOURCES[name].read_text())["models"]


# -- the plugin's algorithm, as the oracle -----------------------------------------------------
def plugin_matches(hf, arch: dict) -> bool:
    if getattr(hf, "model_type", None) != arch["model_type"]:
        return False
    for key, want in arch.items():
        if key == "model_type":
            continue
        if not hasattr(hf, key):
            return False
        have = getattr(hf, key)
        if isinstance(want, dict):
            get = (lambda k: have.get(k, KeyError)) if isinstance(have, dict) else (
                lambda k: getattr(have, k, KeyError))
            if any(get(k) != v for k, v in want.items()):
                return False
        elif have != want:
            return False
    return True


def plugin_best(models: dict, hf) -> str | None:
    best, best_count = None, -1
    for name, data in models.items():
        attrs = {k: v for k, v in data["architecture"].items() if k != "model_type"}
        count = len(attrs) + sum(len(v) for v in attrs.values() if isinstance(v, dict))
        if plugin_matches(hf, data["architecture"]) and count > best_count:
            best, best_count = name, count
    return best


def plugin_cb_device(data: dict, tp: int, mml: int, mns: int):
    """(supported, device_config) of the plugin's CB runtime match, both schemas."""
    if "supported_configs" in data:  # the seed schema: device_configs by tp size
        hit = any(c.get("cb") and (c["tp_size"], c["max_model_len"], c["max_num_seqs"]) ==
                  (tp, mml, mns) for c in data["supported_configs"])
        return hit, (data.get("device_configs") or {}).get(tp) if hit else None
    for c in data.get("continuous_batching_configs") or []:
        if (c["tp_size"], c["max_model_len"], c["max_num_seqs"]) == (tp, mml, mns):
            return True, c.get("device_config")
    return False, None


def plugin_blocks(value, version: str):
    if isinstance(value, dict):
        old = tuple(map(int, version.split("."))) < (1, 0, 3)
        return value["torch_sendnn_lt_1_0_3"] if old and "torch_sendnn_lt_1_0_3" in value \
            else value["default"]
    return value


def vllm_config(hf, tp: int, mml: int = 0, mns: int = 0):
    return SimpleNamespace(model_config=SimpleNamespace(hf_config=hf, max_model_len=mml),
                           parallel_config=SimpleNamespace(world_size=tp),
                           scheduler_config=SimpleNamespace(max_num_seqs=mns))


def hf_object(path: Path):
    return as_object(read_hf_config(path.parent))


# -- agreement with the shipped catalog ----------------------------------------------------------
def _resolved(entry, tp: int, version: str):
    raw = entry.device_configs.get(f"tp{tp}") or {}
    return ({k: str(v) for k, v in (raw.get("env_vars") or {}).items()},
            select_block_override(raw.get("num_gpu_blocks_override"), version))


@pytest.mark.parametrize("source", ["2.6.3", "1.10.0"])
def test_import_agrees_with_shipped_catalog(imported, source):
    shipped = get_model_registry()
    ours = imported[source][1]
    shared = [m for m in ours.list_models() if m in shipped.list_models()]
    assert len(shared) >= 10
    version_aware = source == "1.10.0"
    for hf_id in shared:
        skip = EXCEPTIONS.get((source, hf_id), {})
        a, b = ours.get_model_config(hf_id), shipped.get_model_config(hf_id)
        if "architecture" not in skip:
            assert a.architecture == b.architecture, hf_id
        cb = {(c["tp_size"], c["max_model_len"], c["max_num_seqs"])
              for c in a.continuous_batching_configs}
        assert cb == {(c["tp_size"], c["max_model_len"], c["max_num_seqs"])
                      for c in b.continuous_batching_configs}, hf_id
        for tp in sorted({c[0] for c in cb}):
            for version in ("1.0.3", "1.0.2") if version_aware else ("1.0.3",):
                env_a, blocks_a = _resolved(a, tp, version)
                env_b, blocks_b = _resolved(b, tp, version)
                assert env_a == env_b, (hf_id, tp)
                if f"blocks {version}" not in skip:
                    assert blocks_a == blocks_b, (hf_id, tp, version)
        if "static" not in skip:
            ours_static = {(s["tp_size"], tuple(map(tuple, s["warmup_shapes"])))
                           for s in a.static_batching_configs}
            assert ours_static <= {(s["tp_size"], tuple(map(tuple, s["warmup_shapes"])))
                                   for s in b.static_batching_configs}, hf_id
        if source == "2.6.3":
            assert a.platforms == b.platforms, hf_id


def test_exceptions_are_still_real(imported):
    """Each documented exception must still be a difference (else drop it from EXCEPTIONS)."""
    shipped = get_model_registry()
    a = imported["1.10.0"][1].get_model_config("ibm-granite/granite-4-8b-dense")
    b = shipped.get_model_config("ibm-granite/granite-4-8b-dense")
    assert a.architecture["model_type"] == "granitemoehybrid" != b.architecture["model_type"]
    assert a.static_batching_configs and not b.static_batching_configs
    assert _resolved(a, 4, "1.0.2")[1] == 2080 != _resolved(b, 4, "1.0.2")[1]


def test_imported_tree_lists_only_its_models(imported):
    conf, registry = imported["1.10.0"]
    assert set(registry.list_models()) == set(source_models("1.10.0"))
    assert (conf / "model" / "granite_3_3_8b_instruct.yaml").is_file()
    text = (conf / "model" / "granite_3_3_8b_instruct.yaml").read_text()
    assert "defaults:\n  - family/" in text and "_self_" in text


def test_families_come_from_shared_anchors(imported):
    conf, registry = imported["2.6.3"]
    families = {p.stem for p in (conf / "model" / "family").glob("*.yaml")}
    # the shipped tree already has granite_33_8b / granite_4_8b: ours must not shadow them
    assert {"granite_33_8b_imported", "granite_4_8b_imported", "granite_8b_tp4_device",
            "ministral3_14b_device", "multilingual_e5_large"} == families
    hybrid = yaml.safe_load((conf / "model" / "granite_4_8b_dense_hybrid.yaml").read_text())
    assert hybrid["defaults"][0] == "family/granite_4_8b_imported@_here_"
    assert hybrid["architecture"] == {"model_type": "granitemoehybrid", "num_experts_per_tok": 0}
    shipped_root = str(shipped_conf_dir() / "model" / "family" / "base.yaml")
    for name, (conf, reg) in imported.items():  # every chain ends at the shipped root
        for option in reg.list_options():
            files = reg.get_model_config(option).files
            assert files[0] == shipped_root and files[-1] == str(conf / "model" /
                                                                 f"{option}.yaml"), option


@pytest.mark.parametrize("option", ["granite_4_8b_dense_hybrid", "granite_3_3_8b_instruct_fp8",
                                    "multilingual_e5_large_instruct", "granite_vision_3_3_2b"])
def test_hydra_composes_what_the_registry_reads(imported, option):
    from omegaconf import OmegaConf

    from spyre_hydra.conftree.compose import compose_launch

    conf, registry = imported["2.6.3"]
    model = OmegaConf.to_container(compose_launch([f"model={option}"], conf)["model"])
    entry = registry.get_model_config(option)
    assert (model["hf_id"], model["architecture"], model["device_configs"], model["priority"]) \
        == (entry.name, entry.architecture, entry.device_configs, entry.priority)
    assert model["continuous_batching_configs"] == entry.continuous_batching_configs


def test_option_names_are_short_and_unique():
    assert unique_names(["ibm-granite/granite-3.3-8b-instruct", "a/X.y", "b/x-y", "c/x_y",
                         "d/auto"]) == ["granite_3_3_8b_instruct", "x_y", "b_x_y", "c_x_y",
                                        "d_auto"]


def test_seed_schema_import(imported):
    conf, registry = imported["seed"]
    entry = registry.get_model_config("ibm-granite/granite-3.3-8b-instruct")
    assert yaml.safe_load((conf / "device" / "tp8.yaml").read_text()) == {"name": "tp8",
                                                                         "tp_size": 8}
    assert entry.device_configs["tp4"]["num_gpu_blocks_override"] == {"<1.0.3": 2080,
                                                                      "default": 8192}
    configurator = registry.get_configurator(entry.name, sendnn_version="1.0.2")
    assert configurator.device_configs[4].num_gpu_blocks_override == 2080
    assert configurator.device_configs[4].max_num_batched_tokens == 1024
    assert configurator.device_configs[8].num_gpu_blocks_override == 16384
    assert registry.get_model_config("my-org/granite-3.3-8b-finetune").priority == -1
    assert entry.static_batching_configs == [{"tp_size": 1, "warmup_shapes": [[2048, 1024, 16]]}]


# -- matching answers against the plugin's algorithm ------------------------------------------
@pytest.mark.parametrize("source", list(SOURCES))
def test_matching_agrees_with_plugin(imported, source):
    registry, models = imported[source][1], source_models(source)
    answers = {}
    for path in HF_CONFIGS:
        hf = hf_object(path)
        want = plugin_best(models, hf)
        got = registry.find_matching_model(SimpleNamespace(hf_config=hf))
        assert got == want, path
        answers[path.parent.name] = got
    assert any(answers.values()) and None in answers.values()  # both outcomes are exercised


@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("version", ["1.0.2", "1.0.3"])
def test_runtime_answers_agree_with_plugin(imported, source, version):
    registry, models = imported[source][1], source_models(source)
    checked = 0
    for path in HF_CONFIGS:
        hf = hf_object(path)
        name = plugin_best(models, hf)
        if name is None:
            continue
        data = models[name]
        entries = data.get("continuous_batching_configs") or [
            c for c in data.get("supported_configs") or [] if c.get("cb")]
        runtimes = [(c["tp_size"], c["max_model_len"], c["max_num_seqs"]) for c in entries]
        for tp, mml, mns in runtimes + [(4, 12345, 7), (1, 3072, 16)]:
            supported, device = plugin_cb_device(data, tp, mml, mns)
            got = registry.get_configurator_for_runtime(vllm_config(hf, tp, mml, mns),
                                                        sendnn_version=version, strict=False)
            assert (got is not None) == supported, (path, tp, mml, mns)
            if got is not None:
                settings = got.get_device_config(tp)
                want_env = {k: str(v) for k, v in ((device or {}).get("env_vars") or {}).items()}
                env = {k: str(v) for k, v in (settings.env_vars if settings else {}).items()}
                assert env == want_env, (path, tp)
                assert (settings.num_gpu_blocks_override if settings else None) == \
                    plugin_blocks((device or {}).get("num_gpu_blocks_override"), version)
                checked += 1
    assert checked >= 3


# -- round trip ---------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["1.0.2", "1.0.3"])
def test_export_then_import_gives_same_answers(tmp_path, version):
    shipped = get_model_registry()
    exported = export_legacy(tmp_path / "model_configs.yaml", sendnn_version=version)
    data = yaml.safe_load(exported.read_text())["models"]
    assert all(isinstance(c.get("device_config", {}).get("num_gpu_blocks_override", 0), int)
               for m in data.values() for c in m.get("continuous_batching_configs", []))
    import_legacy(exported, tmp_path / "conf")
    back = get_model_registry(tmp_path / "conf")
    assert sorted(back.list_models()) == sorted(shipped.list_models())
    # spyre-launch --config-dir ranks DIR after the shipped tree: names must not collide
    assert not set(back.list_options()) & set(shipped.list_options())
    for path in HF_CONFIGS:
        hf = SimpleNamespace(hf_config=hf_object(path))
        assert back.find_matching_model(hf) == shipped.find_matching_model(hf), path
        assert back.find_matching_model(hf) == plugin_best(data, hf.hf_config), path
    for hf_id in shipped.list_models():
        a, b = back.get_model_config(hf_id), shipped.get_model_config(hf_id)
        assert a.architecture == b.architecture and a.platforms == b.platforms
        assert a.continuous_batching_configs == b.continuous_batching_configs
        assert a.static_batching_configs == b.static_batching_configs
        for tp in {c["tp_size"] for c in b.continuous_batching_configs}:
            assert _resolved(a, tp, version) == _resolved(b, tp, version), (hf_id, tp)


def test_ties_survive_the_round_trip(tmp_path):
    """The shipped tie (e5-large vs e5-large-instruct) keeps its winner through the plugin file."""
    exported = export_legacy(tmp_path / "m.yaml", sendnn_version="1.0.3")
    names = list(yaml.safe_load(exported.read_text())["models"])
    assert names.index("intfloat/multilingual-e5-large") < names.index(
        "intfloat/multilingual-e5-large-instruct")


def test_export_without_version_takes_the_installed_one(tmp_path, monkeypatch):
    monkeypatch.setattr("spyre_hydra.legacy.exporter.installed_sendnn_version", lambda: "1.0.2")
    text = export_legacy(tmp_path / "m.yaml").read_text()
    assert "resolved for torch_sendnn 1.0.2" in text
    granite = yaml.safe_load(text)["models"]["ibm-granite/granite-3.3-8b-instruct"]
    tp4 = [c for c in granite["continuous_batching_configs"] if c["tp_size"] == 4]
    assert tp4[0]["device_config"]["num_gpu_blocks_override"] == 2080


def test_light_imports(tmp_path):
    """import-legacy and export-legacy never import torch or vllm."""
    code = ("import sys; from spyre_hydra.legacy import importer, exporter; "
            f"importer.import_legacy({str(SOURCES['2.6.3'])!r}, {str(tmp_path / 'c')!r}); "
            f"exporter.export_legacy({str(tmp_path / 'm.yaml')!r}, {str(tmp_path / 'c')!r}, '1.0.3'); "
            "print(sorted(m for m in ('torch', 'vllm', 'transformers') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"


def test_export_bad_version_and_unwritable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(VersionError, match="--sendnn-version 'abc' is not a PEP 440"):
        export_legacy(tmp_path / "out.yaml", sendnn_version="abc")
    with pytest.raises(OutputError, match="cannot write .*file/out.yaml.*Fix:"):
        export_legacy(blocker / "out.yaml", sendnn_version="1.0.3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# -- spyre-launch on an imported tree ---------------------------------------------------------
def _plan(h, cwd, *args) -> dict:
    proc = h.run_cli([*args, "mode=plan"], cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_spyre_launch_plans_imported_model_like_shipped(imported, h, tmp_path):
    conf = imported["1.10.0"][0]
    ours = _plan(h, tmp_path, "--config-dir", str(conf), "model=granite_3_3_8b_instruct",
                 "device=tp4", "sendnn_version=1.0.2")
    ref = _plan(h, tmp_path, "model=granite_8b", "device=tp4", "sendnn_version=1.0.2")
    assert ours["engine_args"]["num_gpu_blocks_override"] == 2080
    for key in ("model", "engine_args", "env", "supported", "summary"):
        assert ours[key] == ref[key], key


# -- errors ---------------------------------------------------------------------------------------
GOOD_MODEL = """
  org/good:
    architecture: {model_type: granite, vocab_size: 1}
    continuous_batching_configs:
      - {tp_size: 1, max_model_len: 2048, max_num_seqs: 4}
"""
BAD_SOURCES = {
    "duplicate_key": ("models:" + GOOD_MODEL + GOOD_MODEL.replace("vocab_size: 1", "vocab_size: 2"),
                      r"models\.org/good \(in .*dup\.yaml:7\): duplicate key 'org/good' "
                      r"\(first at line 2\)"),
    "none_in_architecture": ("models:" + GOOD_MODEL.replace("vocab_size: 1", "vocab_size: null"),
                             r"models\.org/good\.architecture\.vocab_size \(in .*src\.yaml:2\): is None"),
    "no_runtime_entry": ("models:\n  org/x:\n    architecture: {model_type: granite}\n",
                         r"models\.org/x .*has no runtime entry"),
    "duplicate_runtime": ("models:" + GOOD_MODEL.replace(
        "max_num_seqs: 4}", "max_num_seqs: 4}\n      - {tp_size: 1, max_model_len: 2048, "
        "max_num_seqs: 4}"), r"continuous_batching_configs\[1\].*duplicates entry \[0\]"),
    "malformed": ("models:\n  org/x:\n    architecture: {model_type: granite\n  org/y: 1\n",
                  r"malformed\.yaml:4:\d+: malformed YAML"),
}
# Entries of one tp size with different device_configs are no longer refused: each keeps its
# own (tests/compat/test_entry_device_config.py).


@pytest.fixture
def cli(h, tmp_path):
    """Run `spyre-hydra ARGS` in a subprocess."""
    return lambda *args: h.run_cli([str(a) for a in args], tmp_path, prog="spyre-hydra")


@pytest.mark.parametrize("case", list(BAD_SOURCES))
def test_bad_source_is_refused_and_nothing_written(tmp_path, case, cli):
    text, pattern = BAD_SOURCES[case]
    src = tmp_path / {"malformed": "malformed.yaml", "duplicate_key": "dup.yaml"}.get(
        case, "src.yaml")
    src.write_text(text)
    out = tmp_path / "out"
    with pytest.raises(LegacyFormatError, match=pattern):
        import_legacy(src, out)
    proc = cli("import-legacy", src, "--out", out)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "nothing was written" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]


def test_every_problem_is_listed_at_once(tmp_path):
    src = tmp_path / "src.yaml"
    src.write_text("models:" + GOOD_MODEL + GOOD_MODEL +
                   "  org/x:\n    architecture: {model_type: granite, hidden_size: null}\n")
    with pytest.raises(LegacyFormatError, match=r"\(3 problems\)") as info:
        import_legacy(src, tmp_path / "out")
    text = str(info.value)
    assert "duplicate key" in text and "is None" in text and "no runtime entry" in text


def test_out_dir_rules(tmp_path, cli):
    src = SOURCES["seed"]
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.yaml").write_text("x: 1\n")  # not part of the written tree: left alone
    (out / "notes.md").write_text("mine\n")
    options = import_legacy(src, out)
    model = out / "model" / f"{options[0]}.yaml"
    assert (out / "keep.yaml").read_text() == "x: 1\n" and (out / "notes.md").is_file()
    assert import_legacy(src, out) == options  # its own, unchanged files: replaced
    model.write_text(model.read_text() + "# my edit\n")
    with pytest.raises(OutputError, match=f"{model}: it was edited .*Fix: pass --force"):
        import_legacy(src, out)
    proc = cli("import-legacy", src, "--out", out)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--force" in proc.stderr
    assert model.read_text().endswith("# my edit\n")
    import_legacy(src, out, force=True)
    assert not model.read_text().endswith("# my edit\n")
    (out / "model" / "mine.yaml").write_text("hf_id: x\n")  # would join the catalog
    with pytest.raises(LegacyFormatError, match="mine.yaml is a conf file spyre-hydra did not"):
        import_legacy(src, out, force=True)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LegacyFormatError, match="cannot write --out .*file/sub"):
        import_legacy(src, blocker / "sub")
    proc = cli("import-legacy", src, "--out", blocker / "sub")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    with pytest.raises(LegacyFormatError, match="is a file, not a directory"):
        import_legacy(src, blocker)
    assert blocker.read_text() == "x"


def test_cli_round_trip(tmp_path, cli):
    assert cli("export-legacy", "--out", tmp_path / "m.yaml", "--sendnn-version",
                "1.0.3").returncode == 0
    proc = cli("import-legacy", tmp_path / "m.yaml", "--out", tmp_path / "conf")
    assert proc.returncode == 0, proc.stderr
    assert "granite_3_3_8b_instruct" in proc.stdout

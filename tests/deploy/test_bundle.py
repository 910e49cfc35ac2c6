"""export-serve writes a deploy bundle for the target (the card unless told otherwise),
all files or none, never over files it did not write."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from spyre_hydra.deploy import bundle
from spyre_hydra.deploy.export_serve import export_serve, target_overrides
from spyre_hydra.errors import LegacyFormatError
from spyre_hydra.io.writer import OutputError

CARD_ENV = {"SENDNN_INFERENCE_DYNAMO_BACKEND": "sendnn", "FLEX_COMPUTE": "SENTIENT",
            "MASTER_ADDR": "127.0.0.1", "VLLM_DT_MAX_BATCH_TKV_LIMIT": "131072",
            "FLEX_HDMA_P2PSIZE": "268435456", "FLEX_HDMA_COLLSIZE": "33554432",
            "MASTER_PORT": "29500"}
FILES = {"serve.yaml", "env.sh", "serve.env", "model_configs.yaml", "configmap.yaml",
         "serve.sh", "bundle.json"}


def sourced(env_sh, **extra) -> dict[str, str]:
    out = subprocess.run(["sh", "-c", f'. "{env_sh}" && env -0'], capture_output=True,
                         check=True, env={"PATH": "/usr/bin:/bin", **extra})
    return dict(i.split("=", 1) for i in out.stdout.decode().split("\0") if "=" in i)


def env_file(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.mark.parametrize("given,expected", [
    ([], ["backend=sendnn"]), (["backend=auto"], ["backend=sendnn"]),
    (["backend=eager"], ["backend=eager"]), (["model=x"], ["model=x", "backend=sendnn"])])
def test_target_is_the_card_unless_named(given, expected):
    assert target_overrides(given) == expected


def test_bundle_exported_here_has_the_cards_env_and_catalog(tmp_path, monkeypatch):
    # this host has the plugin but no card: the bundle still describes the card
    monkeypatch.setenv("FLEX_HDMA_P2PSIZE", "1")  # the exporting shell's value stays out
    written = export_serve(["model=granite_8b", "device=tp4", "sendnn_version=1.0.3",
                            "serve.host=0.0.0.0", "serve.port=9001"], tmp_path / "b")
    assert set(written) == FILES
    assert set(os.listdir(tmp_path / "b")) == FILES | {".spyre_hydra_manifest.json"}
    out = tmp_path / "b"
    serve = yaml.safe_load((out / "serve.yaml").read_text())
    assert serve == {"model": "ibm-granite/granite-3.3-8b-instruct", "tensor-parallel-size": 4,
                     "max-model-len": 32768, "max-num-seqs": 32,
                     "num-gpu-blocks-override": 8192, "host": "0.0.0.0", "port": 9001}
    config = str(out / "model_configs.yaml")
    env = sourced(out / "env.sh")
    assert {k: env[k] for k in CARD_ENV} == CARD_ENV
    assert env["SENDNN_INFERENCE_MODEL_CONFIG_FILE"] == config
    assert not {"HF_HUB_OFFLINE", "VLLM_PLUGINS", "TRANSFORMERS_OFFLINE"} & set(env)
    assert env_file(out / "serve.env") == {**CARD_ENV,
                                           "SENDNN_INFERENCE_MODEL_CONFIG_FILE": config}
    models = yaml.safe_load((out / "model_configs.yaml").read_text())["models"]
    tp4 = models["ibm-granite/granite-3.3-8b-instruct"]["continuous_batching_configs"]
    assert {c["tp_size"] for c in tp4} == {1, 2, 4}
    docs = list(yaml.safe_load_all((out / "configmap.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["ConfigMap", "ConfigMap"]
    assert docs[0]["metadata"]["name"] == "spyre-hydra-granite-8b-tp4-env"
    assert docs[0]["data"]["SENDNN_INFERENCE_MODEL_CONFIG_FILE"] == \
        "/etc/spyre-hydra/model_configs.yaml"
    assert docs[0]["data"]["FLEX_HDMA_P2PSIZE"] == "268435456"
    assert docs[1]["data"]["model_configs.yaml"] == (out / "model_configs.yaml").read_text()
    manifest = json.loads((out / "bundle.json").read_text())
    assert set(manifest["versions"]) == {"spyre_hydra", "vllm", "sendnn-inference",
                                         "torch_sendnn", "hydra-core", "omegaconf"}
    assert manifest["catalog_fingerprint"].startswith("sha256:")
    assert manifest["target"]["backend"] == "sendnn" and set(manifest["files"]) == FILES
    assert os.access(out / "serve.sh", os.X_OK) and not os.access(out / "serve.env", os.X_OK)


def test_cpu_target_has_no_catalog_and_plugins_off(tmp_path):
    export_serve(["model=granite_8b", "device=tp4", "backend=cpu"], tmp_path / "cpu")
    out = tmp_path / "cpu"
    assert not (out / "model_configs.yaml").exists()
    env = env_file(out / "serve.env")
    assert env["VLLM_PLUGINS"] == "none" and "MASTER_PORT" not in env
    assert yaml.safe_load((out / "serve.yaml").read_text())["enforce-eager"] is True


def test_env_values_are_quoted_and_names_checked(tmp_path):
    odd = {"A": "1 2'3 $HOME `id` \\ \"q\"", "B": "", "C": "x;rm -rf /"}
    (tmp_path / "env.sh").write_text(bundle.env_script(odd, "cpu", None))
    env = sourced(tmp_path / "env.sh", HOME="/nowhere")
    assert {k: env[k] for k in odd} == odd
    (tmp_path / "env2.sh").write_text(bundle.env_script({}, "eager", "/a b/$x'.yaml"))
    assert sourced(tmp_path / "env2.sh")["SENDNN_INFERENCE_MODEL_CONFIG_FILE"] == "/a b/$x'.yaml"
    # a catalog the operator already exported wins
    assert sourced(tmp_path / "env2.sh", SENDNN_INFERENCE_MODEL_CONFIG_FILE="/mine")[
        "SENDNN_INFERENCE_MODEL_CONFIG_FILE"] == "/mine"
    with pytest.raises(LegacyFormatError, match="'BAD-NAME' cannot be exported by a shell"):
        bundle.env_script({"BAD-NAME": "1"}, "cpu", None)
    with pytest.raises(LegacyFormatError, match="env var X: its value holds a newline"):
        bundle.env_file({"X": "a\nB=2"}, "cpu", None)


def test_write_bundle_follows_the_writer_rules(tmp_path):
    out = tmp_path / "out"
    bundle._write_bundle(out, {"a.txt": "1", "env.sh": "x=1\n"})
    assert os.stat(out / "env.sh").st_mode & 0o777 == 0o755
    bundle._write_bundle(out, {"a.txt": "2"})  # its own unchanged files: replaced
    assert (out / "a.txt").read_text() == "2" and not (out / "env.sh").exists()
    (out / "a.txt").write_text("hand edit")
    with pytest.raises(OutputError, match="a.txt: it was edited since spyre-hydra wrote it. "
                                          "Fix: pass --force"):
        bundle._write_bundle(out, {"a.txt": "3", "b.txt": "3"})
    assert (out / "a.txt").read_text() == "hand edit" and not (out / "b.txt").exists()
    bundle._write_bundle(out, {"a.txt": "3"}, force=True)
    assert (out / "a.txt").read_text() == "3"
    # a file the tool did not write: refused even with force, and left alone
    (out / "notes.md").write_text("mine")
    with pytest.raises(OutputError, match="did not write it"):
        bundle._write_bundle(out, {"c.txt": "3", "notes.md": "x"}, force=True)
    assert (out / "notes.md").read_text() == "mine" and not (out / "c.txt").exists()
    bundle._write_bundle(out, {"c.txt": "3"})  # a foreign file beside the bundle stays
    assert (out / "notes.md").read_text() == "mine"
    link = tmp_path / "link"
    link.symlink_to(out)
    with pytest.raises(OutputError, match="is a symlink"):
        bundle._write_bundle(link, {"x": "1"}, force=True)


def test_cli_replaces_its_own_bundle_but_not_an_edited_one(h, tmp_path):
    args = ["export-serve", "model=granite_8b", "device=tp4", "backend=eager", "--out",
            str(tmp_path / "b")]
    assert h.run_cli(args, tmp_path, prog="spyre-hydra").returncode == 0
    assert h.run_cli(args, tmp_path, prog="spyre-hydra").returncode == 0
    with open(tmp_path / "b" / "env.sh", "a") as fh:
        fh.write("export MINE=1\n")
    again = h.run_cli(args, tmp_path, prog="spyre-hydra")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "env.sh: it was edited" in again.stderr and "--force" in again.stderr
    assert "MINE=1" in (tmp_path / "b" / "env.sh").read_text()
    assert h.run_cli([*args, "--force"], tmp_path, prog="spyre-hydra").returncode == 0
    assert "MINE=1" not in (tmp_path / "b" / "env.sh").read_text()


def test_target_paths_are_the_targets(tmp_path):
    written = export_serve(["model=granite_8b", "device=tp4"], tmp_path / "b",
                           target_dir="/srv/deploy", model_path="/ckpt/granite 8b")
    serve = yaml.safe_load(written["serve.yaml"].read_text())
    assert serve["model"] == "/ckpt/granite 8b"
    assert serve["served-model-name"] == "ibm-granite/granite-3.3-8b-instruct"
    assert env_file(written["serve.env"])["SENDNN_INFERENCE_MODEL_CONFIG_FILE"] == \
        "/srv/deploy/model_configs.yaml"
    with pytest.raises(LegacyFormatError, match="its value holds a newline"):
        export_serve(["model=granite_8b"], tmp_path / "c", target_dir="/a\nB=1")
    assert not (tmp_path / "c").exists()


def test_interrupted_bundle_keeps_the_previous_one(tmp_path, monkeypatch):
    from spyre_hydra.io import writer

    out = tmp_path / "out"
    bundle._write_bundle(out, {"a.txt": "1", "b.txt": "1"})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real, calls = writer._temp, []

    def interrupted(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the new bundle's temp files are written
        return real(*args)

    monkeypatch.setattr(writer, "_temp", interrupted)
    with pytest.raises(KeyboardInterrupt):
        bundle._write_bundle(out, {"a.txt": "2", "b.txt": "2"})
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temp file either

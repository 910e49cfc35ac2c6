"""export-serve (serve.yaml + env.sh for `vllm serve --config`) and the catalog export the
plugin's own registry reads. vLLM-side checks run in a fresh interpreter."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import yaml

from spyre_hydra.deploy.export_serve import export_serve

# find_spec, not importorskip: importing vllm here would edit this process's os.environ.
needs_vllm = pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                reason="needs vllm (the engine venv)")
G8B_TP4 = ["model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "backend=sendnn"]
TP4_ENV = {"VLLM_DT_MAX_BATCH_TKV_LIMIT": "131072", "FLEX_HDMA_P2PSIZE": "268435456",
           "FLEX_HDMA_COLLSIZE": "33554432"}


def _sourced_env(env_sh) -> dict[str, str]:
    out = subprocess.run(["bash", "-c", f". {env_sh} && env -0"], capture_output=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    return dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)


def test_export_serve_granite_tp4(tmp_path):
    written = export_serve(G8B_TP4, tmp_path / "out")
    serve = yaml.safe_load(written["serve.yaml"].read_text())
    assert serve == {"model": "ibm-granite/granite-3.3-8b-instruct", "tensor-parallel-size": 4,
                     "max-model-len": 32768, "max-num-seqs": 32,
                     "num-gpu-blocks-override": 2080, "host": "127.0.0.1", "port": 8000}
    env = _sourced_env(written["env.sh"])
    assert {k: env[k] for k in TP4_ENV} == TP4_ENV
    assert env["SENDNN_INFERENCE_DYNAMO_BACKEND"] == "sendnn"
    assert env["FLEX_COMPUTE"] == "SENTIENT" and env["MASTER_PORT"] == "29500"
    assert env["SENDNN_INFERENCE_MODEL_CONFIG_FILE"] == str(written["model_configs.yaml"])
    models = yaml.safe_load(written["model_configs.yaml"].read_text())["models"]
    assert "ibm-granite/granite-3.3-8b-instruct" in models


def test_export_serve_cli_cpu_and_quoting(h, tmp_path):
    out = tmp_path / "cpu"
    # the exporting shell's value is not the target's: the bundle keeps the model's own
    proc = h.run_cli(["export-serve", "model=granite_8b", "device=tp4", "backend=cpu",
                      '+engine_args.served_model_name="my model\'s name"', "--out", str(out)],
                     tmp_path, prog="spyre-hydra", FLEX_HDMA_P2PSIZE="1 2'3 $HOME")
    assert proc.returncode == 0, proc.stderr
    serve = yaml.safe_load((out / "serve.yaml").read_text())
    assert serve["enforce-eager"] is True and serve["served-model-name"] == "my model's name"
    assert not (out / "model_configs.yaml").exists()  # the plugin is off on cpu
    env = _sourced_env(out / "env.sh")
    assert env["VLLM_PLUGINS"] == "none" and "MASTER_PORT" not in env
    assert env["FLEX_HDMA_P2PSIZE"] == "268435456"


def test_export_serve_bad_override_is_clean(h, tmp_path):
    proc = h.run_cli(["export-serve", "model=granit_8b", "--out", str(tmp_path / "x")],
                     tmp_path, prog="spyre-hydra")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Did you mean 'granite_8b'?" in proc.stderr
    assert not (tmp_path / "x").exists()


_PARSE = r"""
import json, sys
from vllm.entrypoints.cli.serve import ServeSubcommand
from vllm.utils.argparse_utils import FlexibleArgumentParser
parser = FlexibleArgumentParser(prog="vllm")
ServeSubcommand().subparser_init(parser.add_subparsers(dest="subparser"))
args = parser.parse_args(["serve", "--config", sys.argv[1]])
keys = ("model", "tensor_parallel_size", "max_model_len", "max_num_seqs",
        "num_gpu_blocks_override", "enforce_eager", "served_model_name", "host", "port")
print("RESULT=" + json.dumps({k: getattr(args, k) for k in keys}))
"""


@pytest.mark.engine
@needs_vllm
def test_vllm_serve_parser_accepts_serve_yaml(tmp_path, probe_env):
    written = export_serve([*G8B_TP4, "+engine_args.enforce_eager=true"], tmp_path / "out")
    proc = subprocess.run([sys.executable, "-c", _PARSE, str(written["serve.yaml"])],
                          capture_output=True, text=True, env=probe_env(), timeout=120)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT=")]
    assert line, proc.stderr[-3000:]
    args = json.loads(line[0][len("RESULT="):])
    assert args == {"model": "ibm-granite/granite-3.3-8b-instruct", "tensor_parallel_size": 4,
                    "max_model_len": 32768, "max_num_seqs": 32, "num_gpu_blocks_override": 2080,
                    "enforce_eager": True, "served_model_name": None, "host": "127.0.0.1",
                    "port": 8000}


@pytest.mark.engine
@needs_vllm
@pytest.mark.parametrize("version,blocks", [("1.0.2", 2080), ("1.0.3", 8192)])
def test_plugin_registry_agrees_with_plan(h, tmp_path, probe, granite_8b_config_dir,
                                          version, blocks):
    catalog = tmp_path / "model_configs.yaml"
    proc = h.run_cli(["export-legacy", "--out", str(catalog), "--sendnn-version", version],
                     tmp_path, prog="spyre-hydra")
    assert proc.returncode == 0, proc.stderr
    out = probe({"backend": "sendnn", "action": "plugin_registry", "model": str(
        granite_8b_config_dir), "tp": 4, "max_model_len": 32768, "max_num_seqs": 32,
        "env_keys": sorted(TP4_ENV)}, SENDNN_INFERENCE_MODEL_CONFIG_FILE=str(catalog))
    assert out["loaded_from"] == str(catalog)
    assert out["matched"] == "ibm-granite/granite-3.3-8b-instruct"
    plan = json.loads(h.run_cli(["model=granite_8b", "device=tp4", f"sendnn_version={version}",
                                 "backend=sendnn", "mode=plan"], tmp_path).stdout)
    assert out["num_gpu_blocks_override"] == plan["engine_args"]["num_gpu_blocks_override"]
    assert out["num_gpu_blocks_override"] == blocks
    assert out["env"] == {k: plan["env"][k] for k in TP4_ENV} == TP4_ENV

"""The vLLM general plugin: a no-op costing nothing when unset; with SPYRE_HYDRA_OVERRIDES it
sets the plan's env before the Spyre plugin reads it and compares the CLI with the plan."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import subprocess
import sys
from types import SimpleNamespace

import pytest

from spyre_hydra.deploy import vllm_plugin
from spyre_hydra.errors import UnknownModelError

needs_vllm = pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                reason="needs vllm (the engine venv)")


def _clean_env(h, **extra):
    env = {k: v for k, v in h.clean_env().items()
           if not k.startswith(("SPYRE_HYDRA_", "SENDNN_INFERENCE_", "MASTER_"))}
    env.update(extra)
    return env


def test_registered_as_a_vllm_general_plugin():
    eps = importlib.metadata.entry_points(group="vllm.general_plugins")
    assert [e.value for e in eps if e.name == "spyre_hydra"] == [
        "spyre_hydra.deploy.vllm_plugin:register"]


def test_unset_does_nothing_and_imports_nothing(h):
    code = ("import os, sys; before = dict(os.environ); import spyre_hydra.deploy.vllm_plugin as p; "
            "p.register(); print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('hydra', 'omegaconf', 'yaml', 'spyre_hydra')), dict(os.environ) == before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_clean_env(h), check=True).stdout.strip()
    assert out == "['spyre_hydra', 'spyre_hydra.deploy', 'spyre_hydra.deploy.vllm_plugin'] True"


def test_bad_overrides_stop_with_one_paragraph(h):
    code = "import spyre_hydra.deploy.vllm_plugin as p; p.register()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_clean_env(h, SPYRE_HYDRA_OVERRIDES="model=granit_8b"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Did you mean 'granite_8b'?" in proc.stderr and "SPYRE_HYDRA_OVERRIDES" in proc.stderr


def _plan(**changes):
    from spyre_hydra.plan.launchplan import LaunchPlan

    plan = LaunchPlan("ibm-granite/granite-3.3-8b-instruct", "granite_8b", 4, "none", "cb",
                      "plan", "eager", {"max_model_len": 32768, "max_num_seqs": 32},
                      {"A": "1", "B": "2"}, {"SENDNN_INFERENCE_DYNAMO_BACKEND": "eager"}, (),
                      True, "")
    return plan.replace(**changes)


def test_plan_env_never_overwrites_the_users(tmp_path):
    plan = _plan()
    env = vllm_plugin.plan_env(plan, {"B": "mine", "MASTER_PORT": "1234"})
    assert env["A"] == "1" and "B" not in env and "MASTER_PORT" not in env
    assert env["SENDNN_INFERENCE_DYNAMO_BACKEND"] == "eager"
    assert env["SENDNN_INFERENCE_MODEL_CONFIG_FILE"].endswith(".yaml")
    assert "VLLM_LOGGING_STREAM" not in env  # a mode's additions are spyre-launch's own
    assert "SENDNN_INFERENCE_MODEL_CONFIG_FILE" not in vllm_plugin.plan_env(
        plan.replace(backend="cpu"), {})


def test_compare_names_model_tp_and_max_model_len(h):
    plan = _plan()
    granite = h.hf_config("ibm-granite/granite-3.3-8b-instruct")
    vc = SimpleNamespace(model_config=SimpleNamespace(model="/ckpt", hf_config=granite,
                                                      max_model_len=32768),
                         parallel_config=SimpleNamespace(tensor_parallel_size=4))
    assert vllm_plugin.compare(plan, vc) == []
    vc.parallel_config.tensor_parallel_size = 1
    vc.model_config.max_model_len = 4096
    assert vllm_plugin.compare(plan, vc) == [
        "--tensor-parallel-size is 1, the plan says 4",
        "--max-model-len is 4096, the plan says 32768"]
    vc.model_config.hf_config = h.hf_config("sentence-transformers/all-roberta-large-v1")
    assert "is matched as sentence-transformers/all-roberta-large-v1, the plan is for " \
        "granite_8b" in vllm_plugin.compare(plan, vc)[0]


_ORDER = r"""
import json, os, sys
import vllm.entrypoints.openai.api_server  # what `python -m ...api_server` imports first
from vllm.entrypoints.openai.cli_args import make_arg_parser
from vllm.utils.argparse_utils import FlexibleArgumentParser
import sendnn_inference.envs as spyre_envs
before = sorted(spyre_envs._cache)
make_arg_parser(FlexibleArgumentParser())  # the server's first step: loads general plugins
from sendnn_inference.config.model_registry import get_model_registry
registry = get_model_registry()  # what the platform's check_and_update_config builds
print("RESULT=" + json.dumps({
    "cached_before": before, "file": spyre_envs.SENDNN_INFERENCE_MODEL_CONFIG_FILE,
    "backend": spyre_envs.SENDNN_INFERENCE_DYNAMO_BACKEND,
    "tiny_in_plugin_registry": "spyre-hydra/tiny-granite" in registry._models,
    "applied": os.environ.get("SPYRE_HYDRA_APPLIED")}))
"""


@pytest.mark.engine
@needs_vllm
def test_env_is_set_before_the_spyre_plugin_reads_it(h, tmp_path):
    env = _clean_env(h, SPYRE_HYDRA_OVERRIDES="model=tiny_granite backend=eager",
                     SPYRE_HYDRA_CACHE=str(tmp_path), VLLM_LOGGING_LEVEL="WARNING")
    proc = subprocess.run([sys.executable, "-c", _ORDER], capture_output=True, text=True,
                          env=env, timeout=300)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT=")]
    assert line, proc.stderr[-4000:]
    out = json.loads(line[0][len("RESULT="):])
    # nothing the plugin set had been read (cached) by the Spyre plugin before it ran
    assert not {"SENDNN_INFERENCE_MODEL_CONFIG_FILE",
                "SENDNN_INFERENCE_DYNAMO_BACKEND"} & set(out["cached_before"])
    assert out["file"].startswith(str(tmp_path)) and out["backend"] == "eager"
    assert out["tiny_in_plugin_registry"]  # the plugin's registry read the composed catalog
    assert out["applied"] == "tiny_granite tp1"


def test_logs_one_line_naming_model_tp_and_what_it_set(caplog):
    environ = {"FLEX_HDMA_P2PSIZE": "7"}
    with caplog.at_level(logging.INFO, logger="vllm.spyre_hydra"):
        plan = vllm_plugin.apply(environ, logging.getLogger("vllm.spyre_hydra"),
                                 ["model=granite_8b", "device=tp4", "backend=eager"])
    assert plan.strict is False
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1 and plan.tp_size == 4
    assert infos[0].startswith("spyre_hydra: model=granite_8b "
                               "(ibm-granite/granite-3.3-8b-instruct) tp=4 backend=eager; set ")
    assert "VLLM_DT_MAX_BATCH_TKV_LIMIT=131072" in infos[0]
    assert "kept yours: FLEX_HDMA_P2PSIZE" in infos[0] and environ["FLEX_HDMA_P2PSIZE"] == "7"
    assert environ["SPYRE_HYDRA_APPLIED"] == "granite_8b tp4"


def test_without_model_the_served_checkpoint_picks_it(h):
    granite = h.hf_config("ibm-granite/granite-3.3-8b-instruct")
    vc = SimpleNamespace(model_config=SimpleNamespace(model="/ckpt", hf_config=granite))
    assert vllm_plugin.pick_option(vc, None) == "granite_8b"
    vc.model_config.hf_config = {"model_type": "acme"}
    with pytest.raises(UnknownModelError, match="no catalog model matches the served model '/ckpt'. "
                       "Fix: name it in SPYRE_HYDRA_OVERRIDES"):
        vllm_plugin.pick_option(vc, None)


_DEFERRED = r"""
import json, os, sys
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.entrypoints.openai.cli_args import make_arg_parser
from vllm.utils.argparse_utils import FlexibleArgumentParser
parser = make_arg_parser(FlexibleArgumentParser())  # general plugins load here
before = os.environ.get("SPYRE_HYDRA_APPLIED")
args = parser.parse_args(["--model", sys.argv[1], "--max-model-len", "256"])
vc = AsyncEngineArgs.from_cli_args(args).create_engine_config()  # the server's next step
print("RESULT=" + json.dumps({"before": before, "after": os.environ.get("SPYRE_HYDRA_APPLIED"),
                              "backend": os.environ.get("SENDNN_INFERENCE_DYNAMO_BACKEND")}))
"""


@pytest.mark.engine
@needs_vllm
def test_without_model_the_plan_is_composed_at_the_config_check(h, tmp_path):
    env = _clean_env(h, SPYRE_HYDRA_CACHE=str(tmp_path), VLLM_LOGGING_LEVEL="INFO")
    built = subprocess.run([sys.executable, "-m", "spyre_hydra.engine.tiny_model", "granite"],
                           env=env, capture_output=True, text=True, check=True)
    path = built.stdout.strip().splitlines()[-1]
    proc = subprocess.run([sys.executable, "-c", _DEFERRED, path], capture_output=True,
                          text=True, timeout=300, env={**env, "SPYRE_HYDRA_OVERRIDES":
                                                       "backend=eager"})
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT=")]
    assert line, proc.stderr[-4000:]
    out = json.loads(line[0][len("RESULT="):])
    assert out == {"before": None, "after": "tiny_granite tp1", "backend": "eager"}
    # the CLI's --max-model-len 256 differs from the plan's 512: a warning, not a refusal
    assert "--max-model-len is 256, the plan says 512" in proc.stdout + proc.stderr

"""A user conf file cannot make vLLM import or run code through engine args (worker_cls,
trust_remote_code, ... : conftree/codeargs.py) unless SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1; the
command line stays free, and the shipped tree sets none of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import conf_dir

import spyre_hydra
from spyre_hydra.cli import launch
from spyre_hydra.conftree import confine, trust
from spyre_hydra.conftree.codeargs import CODE_ARGS, code_args
from spyre_hydra.conftree.conffile import read_conf_file
from spyre_hydra.conftree.roots import shipped_conf_dir
from spyre_hydra.errors import ConfigValidationError

ALLOW = "SPYRE_HYDRA_ALLOW_CUSTOM_CODE"
FIX = (rf"Fix: export {ALLOW}=1 if you trust this conf dir's code, or type "
       r"engine_args\.{arg}=\.\.\. on the command line, which stays allowed")
BACKEND = """\
name: mine
description: the eager Spyre path with a worker of its own
spyre_plugin: true
detect: {installed: [spyre_plugin], rank: 0}
env: {SENDNN_INFERENCE_DYNAMO_BACKEND: eager, MASTER_ADDR: 127.0.0.1}
"""
MODEL = """\
defaults:
  - tiny_granite@_here_
  - _self_
profiles:
  p:
    device: tp1
    runtime: cb
    max_model_len: 512
    max_num_seqs: 4
    engine_args: {trust_remote_code: true}
    id: abc
"""


@pytest.fixture(autouse=True)
def no_opt_ins(monkeypatch):
    """A developer's own SPYRE_HYDRA_ALLOW_CUSTOM_CODE / strict export must not leak in."""
    for key in (ALLOW, "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"):
        monkeypatch.delenv(key, raising=False)


def run_launch(conf: Path, capsys, *args) -> tuple[int, str]:
    try:
        launch.main(["--config-dir", str(conf), *args, "mode=plan"])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.err + captured.out


BACKEND_ROUTE = ({"backend/mine.yaml": BACKEND + "engine_args: {worker_cls: evil.Worker}\n"},
                 ["model=tiny_granite", "backend=mine"], "backend/mine.yaml",
                 "engine_args.worker_cls", "'evil.Worker'", "worker_cls")
MODEL_ROUTE = ({"model/tuned.yaml": MODEL}, ["model=tuned", "profile=p", "backend=eager"],
               "model/tuned.yaml", "profiles.p.engine_args.trust_remote_code", "'True'",
               "trust_remote_code")


@pytest.mark.parametrize("route", [BACKEND_ROUTE, MODEL_ROUTE], ids=["backend", "model"])
def test_spyre_launch_refuses_a_conf_file_naming_code(route, tmp_path, capsys):
    files, args, rel, key, value, arg = route
    code, err = run_launch(conf_dir(tmp_path, files), capsys, *args)
    assert code == 2 and "Traceback" not in err, err
    assert f"conf dir {tmp_path / 'conf'} names code for vLLM to run (1 problem)" in err, err
    assert f"{tmp_path / 'conf' / rel}: {key}: {value}: " in err, err
    assert f"Fix: export {ALLOW}=1 " in err and f"engine_args.{arg}=... on the command" in err


@pytest.mark.parametrize("route", [BACKEND_ROUTE, MODEL_ROUTE], ids=["backend", "model"])
def test_compose_refuses_it_and_the_opt_in_allows_it(route, tmp_path, monkeypatch):
    files, args, rel, key, value, arg = route
    conf = conf_dir(tmp_path, files)
    with pytest.raises(ConfigValidationError, match=rf"names code for vLLM to run \(1 problem\)"
                       rf":\n  - .*{rel}: {key}: {value}: .*{FIX.format(arg=arg)}"):
        spyre_hydra.compose(args, conf_dir=conf)
    with pytest.raises(ConfigValidationError, match=rf"{key}: {value}: "):
        spyre_hydra.compose([*args, "strict=true"], conf_dir=conf)  # strict: refused alike
    monkeypatch.setenv(ALLOW, "1")
    plan = spyre_hydra.compose(args, conf_dir=conf)
    assert plan.engine_args()[arg] == {"worker_cls": "evil.Worker",
                                       "trust_remote_code": True}[arg]


def test_the_command_line_stays_free(tmp_path):
    conf = conf_dir(tmp_path, {"backend/mine.yaml": BACKEND + "engine_args: {}\n"})
    plan = spyre_hydra.compose(["model=tiny_granite", "backend=mine",
                                "engine_args.worker_cls=my.Worker"], conf_dir=conf)
    assert plan.engine_args()["worker_cls"] == "my.Worker"


#: how else a user file reaches engine args -> (files, text the refusal names)
ROUTES = {
    "here_merge": ({"backend/mine.yaml": BACKEND + "defaults:\n  - /lib/args@_here_\n"
                    "  - _self_\n", "lib/args.yaml": "engine_args: {trust_remote_code: true}\n"},
                   "lib/args.yaml: engine_args.trust_remote_code: 'True'"),
    "deep_node": ({"device/big.yaml": "name: big\ntp_size: 1\nx:\n  p:\n    engine_args:\n"
                   "      logits_processors: [evil.LP]\n"},
                  "device/big.yaml: x.p.engine_args.logits_processors: \"['evil.LP']\""),
    "package": ({"backend/mine.yaml": BACKEND + "defaults:\n  - /lib/args@engine_args\n"
                 "  - _self_\n", "lib/args.yaml": "enforce_eager: true\n"},
                "backend/mine.yaml: defaults entry /lib/args: 'engine_args': its package"),
    "engine_args_dir": ({"backend/engine_args/x.yaml": "worker_extension_cls: evil.Mixin\n"},
                        "backend/engine_args/x.yaml: worker_extension_cls: 'evil.Mixin'"),
    "interpolation": ({"backend/mine.yaml": BACKEND + "engine_args: ${model.architecture}\n"},
                      "backend/mine.yaml: engine_args: '${model.architecture}': an interp"),
    "json_string": ({"backend/mine.yaml": BACKEND + "engine_args:\n  compilation_config: "
                     "'{\"backend\": \"evil.compile\"}'\n"},
                    "engine_args.compilation_config.backend: 'evil.compile': a dotted name"),
    "dashed_key": ({"backend/mine.yaml": BACKEND + "engine_args: {worker-cls: evil.W}\n"},
                   "engine_args.worker_cls: 'evil.W'"),
    "serve_option": ({"backend/mine.yaml": BACKEND + "engine_args: {middleware: [evil.mw]}\n"},
                     "engine_args.middleware: \"['evil.mw']\": names ASGI middleware"),
    "sweep_axis": ({"sweep/pwn.yaml": "# @package _global_\nhydra:\n  sweeper:\n    params:\n"
                    "      +engine_args.worker_cls: evil.A,evil.B\n"},
                   "sweep/pwn.yaml: hydra.sweeper.params.+engine_args.worker_cls: "
                   "'evil.A,evil.B'"),
    "sweep_mapping": ({"sweep/pwn.yaml": "# @package _global_\nhydra:\n  sweeper:\n"
                       "    params:\n      backend.engine_args: '{trust_remote_code: true}'\n"},
                      "hydra.sweeper.params.backend.engine_args: '{trust_remote_code: true}': "
                      "it sets trust_remote_code"),
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_into_engine_args_is_read(route, tmp_path, monkeypatch):
    files, named = ROUTES[route]
    conf = conf_dir(tmp_path, files)
    with pytest.raises(ConfigValidationError) as caught:
        trust.check_user_root(conf)
    assert named in str(caught.value) and f"export {ALLOW}=1" in str(caught.value), caught.value
    monkeypatch.setenv(ALLOW, "1")
    trust.check_user_root(conf)  # the opt-in lets the same files through


def test_a_verdict_under_the_opt_in_is_not_remembered_without_it(tmp_path, monkeypatch):
    conf = conf_dir(tmp_path, BACKEND_ROUTE[0])
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv(ALLOW, "1")
    trust.check_user_root(conf, cache=cache)  # clean, and remembered so
    assert list((cache / "trust").iterdir())
    monkeypatch.delenv(ALLOW)
    trust._memo.clear()
    with pytest.raises(ConfigValidationError, match="engine_args.worker_cls: 'evil.Worker'"):
        trust.check_user_root(conf, cache=cache)


#: a value naming code for rows whose generic sample ('evil.Thing') names none
CODE_VALUES = {"spec_method": "custom_class", "speculative_config.method": "custom_class",
               "tool_server": "demo,localhost:9000",
               "kv_transfer_config.kv_connector_extra_config": {"spec_module_path": "evil"}}
#: values each row lets through: vLLM's defaults and built-in names
HARMLESS = {"trust_remote_code": False, "worker_cls": "auto",
            "distributed_executor_backend": "mp", "spec_model": "ibm/draft",
            "speculative_config.model": "ngram", "compilation_config.backend": "inductor",
            "tool_server": "localhost:9000", "spec_method": "ngram",
            "speculative_config.method": "eagle",
            "kv_transfer_config.kv_connector_extra_config": {"cpu_bytes": 1}}


@pytest.mark.parametrize("name", sorted(CODE_ARGS))
def test_each_row_refuses_code_and_passes_its_defaults(name):
    head, _, rest = name.partition(".")
    value = CODE_VALUES.get(name, "evil.Thing")
    nested = {head: {rest: value}} if rest else {name: value}
    for args in ({name: value}, nested):
        assert [(k, w) for k, _, w in code_args(args)] == [(name, CODE_ARGS[name][1])], args
    for harmless in (HARMLESS.get(name, None), None):
        assert code_args({name: harmless}) == []


def test_the_shipped_tree_sets_none_of_them():
    root = shipped_conf_dir()
    files = [p for p in root.rglob("*.yaml") if p.relative_to(root).parts[0] != "hydra"]
    assert len(files) > 30
    for path in files:
        data = read_conf_file(path)
        assert confine._code_args(path, data, "engine_args" in path.parts,
                                  preset=path.parent.name == "sweep") == [], path


#: The installed vLLM's argument names: EngineArgs and serve frontend fields, and the fields
#: of the config classes the nested rows reach into (printed by a child: importing vLLM
#: sets env vars this process must not keep).
VLLM_NAMES = """
import dataclasses, json
from vllm.config import (CompilationConfig, ECTransferConfig, KVTransferConfig,
                         SpeculativeConfig, StructuredOutputsConfig)
from vllm.config.ec_manager_config import EncoderCacheManagerConfig
from vllm.engine.arg_utils import EngineArgs
from vllm.entrypoints.openai.cli_args import FrontendArgs
names = lambda cls: sorted(f.name for f in dataclasses.fields(cls))
print(json.dumps({"": names(EngineArgs) + names(FrontendArgs),
                  "compilation_config": names(CompilationConfig),
                  "kv_transfer_config": names(KVTransferConfig),
                  "ec_transfer_config": names(ECTransferConfig),
                  "speculative_config": names(SpeculativeConfig),
                  "structured_outputs_config": names(StructuredOutputsConfig),
                  "ec_manager_config": names(EncoderCacheManagerConfig)}))
"""


@pytest.mark.engine
def test_each_row_is_a_vllm_argument():
    """The table follows the installed vLLM: every row is an EngineArgs field (or a field
    of the config class it holds) or a `vllm serve` option (`config`: serve's --config)."""
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", VLLM_NAMES], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    names = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in CODE_ARGS:
        head, _, rest = name.partition(".")
        assert head in [*names[""], "config"], name
        assert not rest or rest in names[head], name

"""spyre_hydra.compose, the front door: the same answer as `spyre-launch ... mode=plan`, a
typed frozen LaunchPlan, and the single-launch bounds a sweep point has."""

from __future__ import annotations

import dataclasses
import json

import pytest

import spyre_hydra
from spyre_hydra import ConfigValidationError, LaunchPlan, compose

GRANITE = "ibm-granite/granite-3.3-8b-instruct"

#: Override sets the CLI and the API must answer alike: model=auto, backend=auto, version
#: text, static shapes, engine_args, an unsupported layout (a warning) and the defaults.
PARITY = {
    "defaults": [],
    "granite-tp4": ["model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "backend=eager"],
    "backend-auto": ["model=granite_8b", "device=tp4", "backend=auto"],
    "version-text": ["model=granite_8b", "device=tp4", "sendnn_version.version=1.10"],
    "model-auto": ["model=auto", "model_path={hf}/" + GRANITE, "device=tp4"],
    "static": ["model=granite_8b", "runtime=static", "backend=cpu"],
    "engine-args": ["engine_args.enforce_eager=true", "max_tokens=8"],
    "unsupported": ["model=granite_8b", "device=tp4", "runtime.max_num_seqs=3"],
    "conf-dir": ["model=granite_8b", "device=tp2"],
}


@pytest.mark.parametrize("name", sorted(PARITY))
def test_cli_plan_equals_compose(name, tmp_path, h, conf_copy):
    overrides = [o.format(hf=h.hf_configs) for o in PARITY[name]]
    conf_dir = conf_copy if name == "conf-dir" else None
    argv = [*overrides, "mode=plan"] + (["--config-dir", str(conf_dir)] if conf_dir else [])
    out = h.run_cli(argv, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    api = compose([*overrides, "mode=plan"], conf_dir=conf_dir, environ=h.clean_env())
    assert json.loads(out.stdout) == api.to_dict()


def test_compose_runs_the_cli_preflight():
    plan = compose(["model=granite_8b", "device=tp4", "sendnn_version.version=1.10"],
                   environ={})
    assert plan.sendnn_version == "1.10"  # text, not the float 1.1
    assert plan.backend in ("sendnn", "eager", "cpu")  # backend=auto resolved
    assert plan.backend_env or plan.backend == "cpu"
    assert plan.provenance.choices["backend"] == plan.backend


def test_compose_expands_model_auto(h):
    plan = compose(["model=auto", f"model_path={h.hf_configs / GRANITE}"], environ={})
    assert (plan.option, plan.model) == ("granite_8b", GRANITE)
    assert plan.args["model"] == str((h.hf_configs / GRANITE).resolve())


def test_launch_plan_is_frozen_typed_and_round_trips():
    plan = compose(["model=granite_8b", "device=tp4", "sendnn_version=1.0.2"], environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.tp_size = 1
    with pytest.raises(TypeError):
        plan.env["X"] = "1"  # read-only mapping
    assert isinstance(plan, LaunchPlan) and plan.tp_size == 4
    assert plan.warmup_shapes == () and plan.args["num_gpu_blocks_override"] == 2080
    assert LaunchPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_to_dict_keeps_every_plan_key_and_adds_provenance(h):
    data = compose(["model=granite_8b"], environ={}).to_dict()
    old = ["model", "option", "tp_size", "sendnn_version", "runtime", "mode", "backend",
           "engine_args", "env", "backend_env", "warmup_shapes", "supported", "summary",
           "conflicts", "warnings"]
    assert list(data)[:len(old)] == old
    from spyre_hydra.conftree import stamp

    assert data["versions"] == stamp.installed_versions()
    assert data["catalog_fingerprint"] == stamp.catalog_fingerprint([h.conf])
    assert data["provenance"]["files"]["model"].endswith("conf/model/granite_8b.yaml")
    assert data["provenance"]["choices"]["model"] == "granite_8b"
    assert "model=granite_8b" in data["provenance"]["overrides"]


def test_engine_args_are_vllm_fields_without_default_nones():
    plan = compose(["model=granite_8b", "device=tp1"], environ={})
    assert plan.args["num_gpu_blocks_override"] is None
    args = plan.engine_args()
    assert "num_gpu_blocks_override" not in args
    assert args["tensor_parallel_size"] == 1 and args["model"] == GRANITE


def test_compose_refuses_a_conf_dir_that_is_not_a_directory(tmp_path):
    with pytest.raises(spyre_hydra.UnknownOptionError, match=r"conf_dir '.*nope' is not a "
                       r"directory\. Fix: "):
        compose([], conf_dir=tmp_path / "nope")


@pytest.mark.parametrize("overrides, key, limit", [
    (["model=granite_8b", "device=tp4", "runtime.max_model_len=1000000000000000000000000000000"],
     r"runtime\.max_model_len", 131072),
    (["model=granite_8b", "runtime=static", "runtime.warmup_shapes=[[1048576,64,1]]"],
     r"runtime\.warmup_shapes\[0\]", 131072),
])
def test_single_launch_refuses_lengths_beyond_the_model(overrides, key, limit):
    # the same bound the sweep pre-flight applies per point: an error, never a warning
    with pytest.raises(ConfigValidationError, match=rf"{key} \(in command line .*\): .*exceeds "
                       rf"the model's max_position_embeddings {limit} \({GRANITE}: .*Fix: "):
        compose(overrides, environ={})


@pytest.mark.parametrize("override, key", [
    ("runtime.warmup_shapes=[[100,8,1]]", r"runtime\.warmup_shapes\[0\].*multiple of 64"),
    ("runtime.warmup_shapes=[[64,8,0]]", r"runtime\.warmup_shapes\[0\].*batch_size > 0"),
    ("runtime.max_num_seqs=0", r"runtime\.max_num_seqs.*positive integer"),
])
def test_single_launch_refuses_bad_sizes(override, key):
    runtime = ["runtime=static"] if "warmup" in override else []
    with pytest.raises(ConfigValidationError, match=key):
        compose(["model=granite_8b", *runtime, override], environ={})


def test_check_point_is_the_same_pipeline():
    assert spyre_hydra.check_point(["model=granite_8b"], environ={}) == compose(
        ["model=granite_8b"], environ={})


def test_vllm_config_refuses_a_checkpoint_it_cannot_load_before_importing_vllm(
        monkeypatch, tmp_path):
    """The README's API example: a hub id with the hub offline and no cached copy is the
    same EngineError mode=config gives, not vLLM's LocalEntryNotFoundError seconds later."""
    from spyre_hydra.errors import EngineError

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    plan = compose(["model=granite_8b", "device=tp4", "backend=eager"])
    with pytest.raises(EngineError, match=r"hub is offline .* Fix: model\.path=/path/to"):
        spyre_hydra.vllm_config(plan)

"""Golden composed trees for granite_8b: a change to any value shows up as a diff here.

Regenerate after an intended change with SPYRE_HYDRA_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from spyre_hydra.conftree.compose import compose_launch

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = [(d, v) for d in ("tp1", "tp4") for v in ("1.0.2", "1.0.3")]
TP4_ENV = {"VLLM_DT_MAX_BATCH_TKV_LIMIT": 131072, "FLEX_HDMA_P2PSIZE": 268435456,
           "FLEX_HDMA_COLLSIZE": 33554432}


def _tree(device: str, version: str) -> dict:
    cfg = compose_launch(["model=granite_8b", f"device={device}", f"sendnn_version={version}"])
    return {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k])
            else cfg[k] for k in cfg if k != "hydra"}


def _path(device: str, version: str) -> Path:
    return GOLDEN / f"granite_8b-{device}-{version}.yaml"


@pytest.mark.parametrize("device,version", CASES)
def test_composed_tree_matches_golden(device, version):
    tree = _tree(device, version)
    path = _path(device, version)
    if os.environ.get("SPYRE_HYDRA_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(tree, sort_keys=False))
        pytest.skip(f"wrote {path.name}; review the diff and commit it")
    assert path.is_file(), f"{path} missing: run with SPYRE_HYDRA_UPDATE_GOLDEN=1"
    assert tree == yaml.safe_load(path.read_text())


@pytest.mark.parametrize("device,version", CASES)
def test_golden_files_hold_the_expected_selection(device, version):
    # Checks the committed files themselves, so a careless regeneration is caught.
    golden = yaml.safe_load(_path(device, version).read_text())
    selected = golden["selected"]
    assert golden["model"]["hf_id"] == "ibm-granite/granite-3.3-8b-instruct"
    assert golden["device"] == {"name": device, "tp_size": int(device[2:])}
    assert golden["sendnn_version"] == {"version": version}
    if device == "tp4":
        assert selected["num_gpu_blocks_override"] == {"1.0.2": 2080, "1.0.3": 8192}[version]
        assert selected["env"] == TP4_ENV
        assert (golden["runtime"]["max_model_len"], golden["runtime"]["max_num_seqs"]) == (
            32768, 32)
    else:
        assert selected["num_gpu_blocks_override"] is None
        assert selected["env"] == {}
        assert (golden["runtime"]["max_model_len"], golden["runtime"]["max_num_seqs"]) == (
            3072, 16)
    assert selected["max_num_batched_tokens"] is None

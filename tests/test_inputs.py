"""spyre_hydra.plan.inputs.check_inputs: plan-time checks of model.path and the prompts (no vllm)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spyre_hydra.errors import ConfigValidationError, UnknownModelError
from spyre_hydra.plan.inputs import check_inputs, read_prompts

REPO = Path(__file__).resolve().parents[1]
G8B = REPO / "tests" / "data" / "hf_configs" / "ibm-granite" / "granite-3.3-8b-instruct"
G8B_ARCH = {"model_type": "granite", "num_hidden_layers": 40, "hidden_size": 4096,
            "num_attention_heads": 32}


def tree(path=None, mode="plan", prompts=("Hello",), prompts_file=None, arch=G8B_ARCH):
    return {"model": {"hf_id": "ibm-granite/granite-3.3-8b-instruct", "path": path,
                      "architecture": dict(arch)},
            "mode": mode, "prompts": list(prompts), "prompts_file": prompts_file}


def checkpoint(tmp_path: Path, **changes) -> Path:
    data = {**json.loads((G8B / "config.json").read_text()), **changes}
    (tmp_path / "config.json").write_text(json.dumps(data))
    return tmp_path


def test_real_tree_with_matching_checkpoint_has_no_warning(tmp_path):
    from omegaconf import OmegaConf

    from spyre_hydra.conftree.compose import compose_launch

    ckpt = checkpoint(tmp_path)
    cfg = compose_launch(["model=granite_8b", f"model.path={ckpt}", "mode=generate"])
    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) if k == "model" else cfg[k]
             for k in ("model", "mode", "prompts", "prompts_file")}
    assert check_inputs(plain, strict=True) == []


def test_no_path_and_hub_ids_are_not_checked_here():
    assert check_inputs(tree(path=None), strict=True) == []


def test_missing_path(tmp_path):
    with pytest.raises(ConfigValidationError, match=r"model\.path: '.*/nope' does not exist\. "
                       r"Fix: model\.path=/path/to/checkpoint"):
        check_inputs(tree(path=str(tmp_path / "nope")), strict=False)


def test_directory_without_config_json(tmp_path):
    with pytest.raises(ConfigValidationError, match=r"model\.path: '.*' is not a checkpoint "
                       r"directory \(no config\.json in it\)\. Fix: model\.path="):
        check_inputs(tree(path=str(tmp_path)), strict=False)


def test_broken_config_json(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigValidationError, match=r"config\.json' cannot be read as JSON "
                       r"\(JSONDecodeError: .*Fix: repair or re-download"):
        check_inputs(tree(path=str(tmp_path)), strict=False)


def test_builtin_names():
    assert check_inputs(tree(path="builtin:tiny_granite"), strict=True) == []
    assert check_inputs(tree(path="builtin:tiny_llama"), strict=True) == []
    with pytest.raises(ConfigValidationError, match=r"model\.path: 'builtin:tiny_bogus' is not a "
                       r"builtin checkpoint\. Valid: builtin:tiny_granite, builtin:tiny_llama\."
                       r" Fix: model\.path=builtin:tiny_granite"):
        check_inputs(tree(path="builtin:tiny_bogus"), strict=False)


def test_architecture_mismatch_warns_naming_the_attributes(tmp_path):
    ckpt = checkpoint(tmp_path, num_hidden_layers=2, hidden_size=128)
    warnings = check_inputs(tree(path=str(ckpt)), strict=False)
    assert len(warnings) == 1
    assert "num_hidden_layers=2 (model wants 40)" in warnings[0]
    assert "hidden_size=128 (model wants 4096)" in warnings[0]
    assert "num_attention_heads" not in warnings[0]  # equal: not named
    assert "strict=false" in warnings[0]


def test_architecture_mismatch_is_an_error_in_strict_mode(tmp_path):
    ckpt = checkpoint(tmp_path, model_type="llama")
    with pytest.raises(UnknownModelError, match=r"model\.path='.*': the checkpoint's config\.json "
                       r"does not match ibm-granite/granite-3\.3-8b-instruct's architecture: "
                       r"model_type='llama' \(model wants 'granite'\)\. Fix: .*model=auto"):
        check_inputs(tree(path=str(ckpt)), strict=True)


def test_dict_attribute_mismatch_names_the_sub_key(tmp_path):
    ckpt = checkpoint(tmp_path, quantization_config={"quant_method": "gptq", "bits": 8})
    arch = {**G8B_ARCH, "quantization_config": {"quant_method": "gptq", "bits": 4}}
    (warning,) = check_inputs(tree(path=str(ckpt), arch=arch), strict=False)
    assert "quantization_config.bits=8 (model wants 4)" in warning


def test_prompts_file_missing_empty_and_good(tmp_path):
    with pytest.raises(ConfigValidationError, match=r"prompts_file: '.*/none\.txt' does not exist\. Fix: pass a regular file"):
        check_inputs(tree(mode="generate", prompts_file=str(tmp_path / "none.txt")), False)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(ConfigValidationError, match=r"prompts_file: '.*/empty\.txt' holds no "
                       r"prompt \(empty or blank lines only\)\. Fix: write one prompt"):
        check_inputs(tree(mode="generate", prompts_file=str(empty)), False)
    good = tmp_path / "good.txt"
    good.write_text("one\n\ntwo\n")
    assert check_inputs(tree(mode="generate", prompts_file=str(good)), False) == []
    assert read_prompts(str(good), ["ignored"]) == ["one", "two"]


def test_prompts_file_that_is_a_directory(tmp_path):
    with pytest.raises(ConfigValidationError, match=r"prompts_file: '.*' is a directory, not a regular file\. Fix:"):
        check_inputs(tree(mode="generate", prompts_file=str(tmp_path)), False)


def test_generate_without_prompts():
    with pytest.raises(ConfigValidationError, match=r"prompts: no prompt to generate from\. "
                       r"Fix: 'prompts=\[Hello, my name is\]'"):
        check_inputs(tree(mode="generate", prompts=()), strict=False)
    assert check_inputs(tree(mode="plan", prompts=()), strict=False) == []  # not needed there


def test_every_input_problem_at_once(tmp_path):
    with pytest.raises(ConfigValidationError, match=r"invalid input \(2 problems\)"):
        check_inputs(tree(path=str(tmp_path / "nope"), mode="generate", prompts=()), False)


def test_checking_imports_neither_torch_nor_vllm(tmp_path):
    code = ("import sys; from spyre_hydra.plan.inputs import check_inputs; "
            "check_inputs({'model': {'path': 'builtin:tiny_granite'}, 'mode': 'plan'}, True); "
            "print(sorted(m for m in ('torch', 'vllm', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]"

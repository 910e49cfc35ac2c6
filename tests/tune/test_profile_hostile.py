"""profile= on hand-edited model files: profiles that are no mapping, names profile= cannot
take. The error names the key and the file and offers a fix that works."""

from __future__ import annotations

import pytest

import spyre_hydra
from spyre_hydra.errors import ConfigValidationError, UnknownOptionError

SHAPE = "{device: tp1, runtime: static, warmup_shapes: [[64, 8, 1]], id: %s}"


def variant(tmp_path, body: str):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "tiny_granite_tuned.yaml").write_text(
        "defaults:\n  - tiny_granite@_here_\n  - _self_\n" + body + "\n")
    return ["model=tiny_granite_tuned", "profile=p", "backend=eager"]


@pytest.mark.parametrize("body,shown", [("profiles: 5", "5"), ("profiles: [1]", r"\[1\]")])
def test_profiles_that_are_no_mapping_are_named(tmp_path, body, shown):
    overrides = variant(tmp_path, body)
    with pytest.raises(ConfigValidationError, match=r"profile 'p': model tiny_granite_tuned's "
                       r"profiles are malformed \(1 problem\):\n  - model\.profiles \(in .*"
                       r"tiny_granite_tuned\.yaml\): " + shown + r" must be a mapping of "
                       r"profile names to profiles\. Fix: write profiles:"):
        spyre_hydra.compose(overrides, conf_dir=tmp_path)


def test_a_profile_name_profile_cannot_take_is_never_the_fix(tmp_path):
    overrides = variant(tmp_path, "profiles: {'bad name': %s, ok1: %s}" % (SHAPE % "x",
                                                                         SHAPE % "y"))
    with pytest.raises(UnknownOptionError, match=r"no profile 'p' \(it has bad name, ok1, in .*"
                       r"tiny_granite_tuned\.yaml; 'bad name' cannot be chosen with profile= "
                       r"\(rename it: letters, digits, _ and -\)\)\. Fix: profile=ok1;"):
        spyre_hydra.compose(overrides, conf_dir=tmp_path)


def test_only_unusable_names_ask_for_a_rename(tmp_path):
    overrides = variant(tmp_path, "profiles: {'bad name': %s}" % (SHAPE % "x"))
    with pytest.raises(UnknownOptionError, match=r"Fix: rename a profile in .*"
                                                 r"tiny_granite_tuned\.yaml;"):
        spyre_hydra.compose(overrides, conf_dir=tmp_path)


CB = "{device: tp1, runtime: cb, max_model_len: 512, max_num_seqs: %s, id: sha256:0123456789abcdef%s}"


@pytest.mark.parametrize("body,key", [
    ("profiles: {p: %s}" % (CB % (0, "")), r"runtime\.max_num_seqs"),
    ("profiles: {p: {device: tp1, runtime: static, warmup_shapes: [[64, 0, 0]], id: x}}",
     r"runtime\.warmup_shapes\[0\]"),
    ("profiles: {p: %s}" % (CB % (4, ", engine_args: {tensor_parallel_size: 2}")),
     r"engine_args\.tensor_parallel_size"),
])
def test_a_bad_value_of_a_profile_names_the_profiles_file(tmp_path, body, key):
    # not runtime/cb.yaml or conf/config.yaml: those never held the value
    overrides = variant(tmp_path, body)
    with pytest.raises(ConfigValidationError, match=key + r" \(in [^)]*/model/"
                       r"tiny_granite_tuned\.yaml, profile 'p'\): "):
        spyre_hydra.compose(overrides, conf_dir=tmp_path)


def test_the_command_lines_value_still_names_the_command_line(tmp_path):
    overrides = variant(tmp_path, "profiles: {p: %s}" % (CB % (4, "")))
    with pytest.raises(ConfigValidationError, match=r"runtime\.max_num_seqs \(in command line "
                                                    r"'runtime\.max_num_seqs=0'\): 0 must be"):
        spyre_hydra.compose([*overrides, "runtime.max_num_seqs=0"], conf_dir=tmp_path)


def test_a_malformed_profile_value_names_the_model_file(tmp_path):
    overrides = variant(tmp_path, "profiles: {p: %s}" % (CB % ("abc", "")))
    with pytest.raises(ConfigValidationError, match=r"profile 'p' is malformed \(1 problem\):\n"
                       r"  - model\.profiles\.p\.max_num_seqs \(in [^)]*/model/"
                       r"tiny_granite_tuned\.yaml\): 'abc' is not a valid int"):
        spyre_hydra.compose(overrides, conf_dir=tmp_path)

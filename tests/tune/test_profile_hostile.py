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

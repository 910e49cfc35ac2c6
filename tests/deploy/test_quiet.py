"""Quiet by default: catalog ties/shadows are `spyre-hydra check` findings, not log lines of
every run; the tiny default model decodes to printable words."""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import subprocess
import sys

import pytest

from spyre_hydra.catalog.registry import ModelConfigRegistry


def test_loading_the_catalog_logs_nothing_at_info(caplog):
    with caplog.at_level(logging.INFO, logger="spyre_hydra"):
        registry = ModelConfigRegistry(use_cache=False)
    assert registry.diagnostics  # the shipped catalog has ties/shadows ...
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []


def test_findings_name_a_models_own_ties_only():
    from spyre_hydra.catalog.registry import get_model_registry

    registry = get_model_registry()
    mine = registry.diagnostics_for("e5_large")
    assert mine and all(" intfloat/multilingual-e5-large " in n for n in mine)
    assert registry.diagnostics_for("granite_8b") == []


def test_check_still_reports_them(h, tmp_path):
    proc = h.run_cli(["check"], tmp_path, prog="spyre-hydra")
    assert proc.returncode == 0 and "tie: intfloat/multilingual-e5-large and" in proc.stdout


_DECODE = r"""
import sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
text = tok.decode(list(range(tok.vocab_size)), skip_special_tokens=True)
ids = tok("Hello, my name is")["input_ids"]
print(repr(text)); print(tok.unk_token_id in ids, tok.vocab_size)
"""


@pytest.mark.engine
@pytest.mark.skipif(importlib.util.find_spec("transformers") is None,
                    reason="needs transformers (the engine venv)")
def test_tiny_model_decodes_every_id_to_printable_words(tmp_path, h):
    env = h.clean_env(SPYRE_HYDRA_CACHE=str(tmp_path))
    built = subprocess.run([sys.executable, "-m", "spyre_hydra.engine.tiny_model", "granite"],
                           env=env, capture_output=True, text=True, check=True)
    path = built.stdout.strip().splitlines()[-1]
    out = subprocess.run([sys.executable, "-c", _DECODE, path], env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    text = ast.literal_eval(out[0])
    assert text.isprintable() and len(text.split()) > 300
    assert all(word.isalpha() or len(word) == 1 for word in text.split())
    assert out[1].startswith("False")  # the README's prompt is all known words


def test_a_run_warns_only_about_its_own_model(h, tmp_path):
    e5 = h.run_cli(["model=e5_large", "runtime=static", "mode=plan", "backend=eager"], tmp_path)
    assert e5.returncode == 0, e5.stderr
    warned = [line for line in e5.stderr.splitlines() if "warning: catalog:" in line]
    assert warned and all(" intfloat/multilingual-e5-large " in line for line in warned)
    granite = h.run_cli(["model=granite_8b", "device=tp4", "mode=plan", "backend=eager"],
                        tmp_path)
    assert granite.returncode == 0 and "catalog:" not in granite.stderr
    assert json.loads(granite.stdout)["warnings"] == []

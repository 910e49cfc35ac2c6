"""Tiny checkpoint: shapes the Spyre plugin accepts, cached, rebuilt when corrupt."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from spyre_hydra.engine import tiny_model
from spyre_hydra.engine.tiny_model import MARKER, ensure_tiny_model, is_valid


@pytest.fixture(scope="module", autouse=True)
def _torch_side_effects_first(tmp_path_factory):
    """Building a checkpoint imports torch, which writes TORCHINDUCTOR_CACHE_DIR into
    os.environ on first use; do that once before the tests, so the per-test env check
    (tests/conftest.py) sees only what ensure_tiny_model itself changes."""
    if importlib.util.find_spec("transformers") is not None:
        ensure_tiny_model("llama", cache_dir=tmp_path_factory.mktemp("warm"))


def test_module_import_does_not_import_torch():
    code = (
        "import sys, spyre_hydra.engine.tiny_model, spyre_hydra.engine;"
        "bad=[m for m in ('torch','transformers','tokenizers','vllm') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cache_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("SPYRE_HYDRA_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tiny_model.cache_root() == tmp_path / "xdg" / "spyre_hydra"
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(tmp_path / "own"))
    assert tiny_model.cache_root() == tmp_path / "own"


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        ensure_tiny_model("gpt5")


def test_granite_shapes_and_files(tiny_granite):
    cfg = json.loads((tiny_granite / "config.json").read_text())
    assert cfg["model_type"] == "granite"
    assert cfg["hidden_size"] // cfg["num_attention_heads"] >= 64
    assert cfg["max_position_embeddings"] >= 2048
    for name in ("model.safetensors", "tokenizer.json", "tokenizer_config.json", MARKER):
        assert (tiny_granite / name).is_file(), name
    size = sum(p.stat().st_size for p in tiny_granite.iterdir())
    assert size < 10 * 2**20
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_granite))
    assert tok.is_fast
    ids = tok("Hello, my name is")["input_ids"]
    assert ids and max(ids) < cfg["vocab_size"]


def test_cached_then_rebuilt_when_corrupt(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(tmp_path))
    first = ensure_tiny_model("llama")
    assert first == tmp_path / "tiny-llama" and is_valid(first, "llama")
    weights = first / "model.safetensors"
    mtime = weights.stat().st_mtime_ns
    assert ensure_tiny_model("llama") == first
    assert weights.stat().st_mtime_ns == mtime  # cache hit, nothing rewritten

    reference = weights.read_bytes()
    weights.write_bytes(reference[: len(reference) // 2])  # truncated download-style damage
    assert not is_valid(first, "llama")
    assert ensure_tiny_model("llama") == first
    assert is_valid(first, "llama")
    assert weights.read_bytes() == reference  # fixed seed: bit-identical rebuild

    (first / "config.json").write_text("{not json")
    assert ensure_tiny_model("llama") == first and is_valid(first, "llama")

    (first / MARKER).unlink()
    assert ensure_tiny_model("llama") == first and is_valid(first, "llama")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".tiny-llama-", ".trash-"))]

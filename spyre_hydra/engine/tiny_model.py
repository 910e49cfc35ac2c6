"""Tiny random-weight checkpoints built locally, so tests never touch a model hub.

The shapes are chosen for the Spyre plugin: head_dim must be >= 64 (hidden 128 / 2
heads), and max_position_embeddings must exceed the warm-up / block (64) shapes.
torch/transformers/tokenizers are imported inside the functions only: importing this
module must stay cheap for the config-composition side of the project.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..reading import InputError, read_text_bounded
from ..writer import OutputError, write_cache

# Bump when the recipe below changes: a cached checkpoint with another version is rebuilt.
RECIPE_VERSION = 2
MARKER = ".spyre_hydra_tiny.json"
KINDS = ("granite", "llama")

_SPECIAL = "<|end_of_text|>"
# Plain chat template so /v1/chat/completions works against the tiny model too.
_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "IBM Spyre is an AI accelerator card; vLLM serves large language models.",
    "Hello world! Hello, my name is tiny granite and I generate random text.",
    "The capital of France is Paris. The future of AI is open source.",
    "Continuous batching keeps many sequences in flight at once.",
    "0123456789 + - * / = ( ) [ ] { } < > , . ; : ! ? ' \" # @ % & _",
]


def cache_root() -> Path:
    """Where tiny checkpoints are cached: spyre_hydra's user cache dir."""
    from ..paths import cache_dir

    return cache_dir()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_valid(model_dir: Path, kind: str) -> bool:
    """True when the marker matches this recipe and every recorded file hash matches.

    Hashing everything is affordable (a few MB) and catches truncated or edited files,
    not just missing ones.
    """
    try:
        marker = json.loads(read_text_bounded(model_dir / MARKER, 1 << 20))
        if marker.get("recipe") != RECIPE_VERSION or marker.get("kind") != kind:
            return False
        json.loads(read_text_bounded(model_dir / "config.json", 1 << 20))
        files = marker["files"]
        if "model.safetensors" not in files or "tokenizer.json" not in files:
            return False
        return all(_sha256(model_dir / n) == h for n, h in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError, InputError):
        return False


def _build_tokenizer(out: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    # Byte-level BPE: every string is encodable (no <unk>), so random prompts work.
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=[_SPECIAL],  # id 0, like the real granite tokenizer
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 8, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=_SPECIAL,
        eos_token=_SPECIAL,
        pad_token=_SPECIAL,
        model_max_length=4096,
    )
    fast.chat_template = _CHAT_TEMPLATE
    fast.save_pretrained(str(out))
    return tok.get_vocab_size()


def _build_model(out: Path, kind: str, vocab_size: int) -> None:
    import torch
    import transformers

    common = dict(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,  # head_dim 64: smallest the Spyre attention kernels accept
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
        # Untied + wider init: with tied tiny random weights greedy decoding just repeats
        # the last prompt token, which makes CPU-vs-Spyre token comparisons meaningless.
        tie_word_embeddings=False,
        initializer_range=0.2,
        rms_norm_eps=1e-5,
    )
    if kind == "granite":
        cfg = transformers.GraniteConfig(
            **common,
            attention_multiplier=1.0 / 64,
            embedding_multiplier=12.0,
            logits_scaling=16.0,
            residual_multiplier=0.22,
        )
        cls = transformers.GraniteForCausalLM
    else:
        cfg = transformers.LlamaConfig(**common)
        cls = transformers.LlamaForCausalLM
    torch.manual_seed(0)
    model = cls(cfg).to(torch.float16)
    model.config.dtype = "float16"
    model.save_pretrained(str(out), safe_serialization=True)


def _build(out: Path, kind: str) -> None:
    vocab = _build_tokenizer(out)
    # Model vocab a round 1024 >= tokenizer vocab: vLLM wants tokenizer ids < model vocab.
    _build_model(out, kind, max(1024, vocab))
    files = {
        p.name: _sha256(p) for p in sorted(out.iterdir()) if p.is_file() and p.name != MARKER
    }
    write_cache(out / MARKER, json.dumps({"recipe": RECIPE_VERSION, "kind": kind,
                                          "files": files}, indent=1))


@contextlib.contextmanager
def _lock(path: Path):
    # Serializes concurrent builders (pytest-xdist, parallel launches) on one cache dir.
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    # O_NOFOLLOW and no truncation: a symlink planted at the lock path is refused, not written.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ensure_tiny_model(kind: str = "granite", cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the directory of a valid tiny `kind` checkpoint, (re)building it if needed."""
    if kind not in KINDS:
        raise ValueError(f"unknown tiny model kind {kind!r}; expected one of {KINDS}")
    root = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
    target = root / f"tiny-{kind}"
    if target.is_symlink():
        raise OutputError(f"cache dir {target} is a symlink; spyre-hydra never replaces one. "
                          "Fix: remove it, or set SPYRE_HYDRA_CACHE to another directory.")
    if is_valid(target, kind):
        return target
    with _lock(root / f".tiny-{kind}.lock"):
        if is_valid(target, kind):  # another process finished while we waited
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".tiny-{kind}-", dir=root))
        try:
            _build(tmp, kind)
            if target.exists():
                # A directory can't be renamed over a non-empty one: move the broken one
                # aside first, so readers only ever see a complete checkpoint or none.
                trash = Path(tempfile.mkdtemp(prefix=f".trash-{kind}-", dir=root))
                os.replace(target, trash / "old")
                shutil.rmtree(trash, ignore_errors=True)
            # mkdtemp makes 0700 (and safetensors writes 0600); the cache may be shared.
            tmp.chmod(0o755)
            for f in tmp.iterdir():
                f.chmod(0o644)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


if __name__ == "__main__":  # python -m spyre_hydra.engine.tiny_model [kind]
    import sys

    print(ensure_tiny_model(sys.argv[1] if len(sys.argv) > 1 else "granite"))

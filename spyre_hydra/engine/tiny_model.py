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

from spyre_hydra.catalog.builtin import KINDS  # the names live below the plan
from spyre_hydra.io.cache_write import write_cache
from spyre_hydra.io.reading import InputError, read_text_bounded
from spyre_hydra.io.writer import OutputError, publish_dir

# Bump when the recipe below changes: a cached checkpoint with another version is rebuilt.
RECIPE_VERSION = 3
MARKER = ".spyre_hydra_tiny.json"

_SPECIAL = "<|end_of_text|>"
# Plain chat template so /v1/chat/completions works against the tiny model too.
_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
_UNK = "<unk>"
# A word-level vocabulary of plain English words and punctuation: whatever ids the random
# weights pick, the text decodes to printable words (no byte-fallback control tokens).
_WORDS = """
the of and to in is was for on that with as by at from it an be this are or his her
their which has had have not but all were one new first more other some time when
there after into who they she he we you your my our its about over than then also
only two three can will would could should may might must do does did done made make
year years people world day days way man woman life work part place case point group
number fact hand home water room mother father area money story month lot right study
book eye job word business issue side kind head house service friend power hour game
line end member law car city community name president team minute idea kid body back
parent face others level office door health person art war history party result change
morning reason research girl guy moment air teacher force education good great little
own old big high different small large next early young important few public bad same
able last long best sure free true whole real open clear full hard late simple strong
model card text data fast slow quiet bright blue green red white black gold silver
hello Hello The It I A My What How world Paris France capital future open source language
server token batch
cloud river mountain garden window letter music paper light sound voice table chair
bird tree flower stone ocean forest road bridge island village market school church
say said go went see saw know knew get got give gave find found think thought tell
told become became leave left feel felt bring brought begin began keep kept hold held
write wrote stand stood hear heard let mean set meet run ran pay sit speak lie lead
read grow lose fall send build understand draw break spend cut rise drive buy wear
choose seek throw catch deal win forget lay sell fight teach eat sing swim fly rest
quick brown fox jumps lazy dog accelerator serves generates random tiny granite
. , ; : ! ? ' " ( ) - 0 1 2 3 4 5 6 7 8 9
""".split()
def cache_root() -> Path:
    """Where tiny checkpoints are cached: spyre_hydra's user cache dir, or a private dir of
    this process when other users could write that one (io/cachedir.py)."""
    from spyre_hydra.catalog.configurator import strict_from_env
    from spyre_hydra.conftree.roots import cache_dir
    from spyre_hydra.io.cachedir import private_dir, usable_cache_dir

    return usable_cache_dir(cache_dir(), strict_from_env()) or private_dir("tiny")


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
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    # Word level: every token is a whole word (unknown words become <unk>), and decoding
    # joins tokens with spaces, so any generated id sequence reads as words.
    vocab = {_SPECIAL: 0, _UNK: 1}  # id 0 for end-of-text, like the real granite tokenizer
    for word in _WORDS:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=_UNK))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=_SPECIAL,
        eos_token=_SPECIAL,
        pad_token=_SPECIAL,
        unk_token=_UNK,
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
    # Model vocab = tokenizer vocab: every id the random weights can pick is a word.
    _build_model(out, kind, vocab)
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
            publish_dir(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


if __name__ == "__main__":  # python -m spyre_hydra.engine.tiny_model [kind [cache root]]
    import sys

    print(ensure_tiny_model(sys.argv[1] if len(sys.argv) > 1 else "granite",
                            sys.argv[2] if len(sys.argv) > 2 else None))

"""Engine-side checks that run before `import vllm`, and the wrapping of vLLM's failures.

Importing vLLM and building an engine take seconds; a Hugging Face id on an offline host,
a config-only checkpoint asked to generate or a busy port would otherwise surface as a
vLLM traceback after that wait. Each check here raises EngineError naming key, value, fix.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any, Mapping

from spyre_hydra.errors import EngineError

log = logging.getLogger(__name__)

#: Any one of these makes a directory usable as a tokenizer by transformers.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json",
                   "vocab.txt", "spiece.model", "sentencepiece.bpe.model")
_TRUE = ("1", "true", "yes", "on")


def _hub_cached(repo_id: str, environ: Mapping[str, str]) -> bool:
    """True when the HF cache holds a snapshot of repo_id (offline mode can load it)."""
    cache = environ.get("HF_HUB_CACHE") or str(
        Path(environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface") / "hub")
    snapshots = Path(cache).expanduser() / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    return snapshots.is_dir() and any(snapshots.iterdir())


def check_model(engine_args: Mapping[str, Any], mode: str, environ=None) -> None:
    """A model vLLM can load here: a local checkpoint, or a hub id the (offline) hub has;
    generate/serve also need the tokenizer a config-only checkpoint lacks."""
    environ = os.environ if environ is None else environ
    model = str(engine_args["model"])
    where = Path(model).expanduser()
    if not where.is_dir():
        if model.startswith(("/", ".", "~")):
            raise EngineError(f"model.path={model!r} does not exist. Fix: model.path="
                              "/path/to/checkpoint (a directory holding config.json).")
        offline = str(environ.get("HF_HUB_OFFLINE", "")).lower() in _TRUE
        if offline and not _hub_cached(model, environ):
            raise EngineError(f"model {model!r} is a Hugging Face id and the hub is offline "
                              "here (HF_HUB_OFFLINE=1, set by the backend) with no cached copy. "
                              "Fix: model.path=/path/to/checkpoint")
        return
    from spyre_hydra.conftree.modes import MODES

    spec = MODES.get(mode)
    if spec is None or not spec.tokenizer or engine_args.get("skip_tokenizer_init"):
        return
    tok = Path(str(engine_args.get("tokenizer") or model)).expanduser()
    if tok.is_dir() and not any((tok / name).is_file() for name in TOKENIZER_FILES):
        raise EngineError(
            f"model.path={model!r} has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, "
            f"...): mode=config works with a config-only checkpoint, mode={mode} needs the "
            "tokenizer (and the weights). Fix: point model.path at a full checkpoint, or "
            "mode=config to build the configuration only.")


def check_port(host: str, port: int) -> None:
    """Bind serve.host:serve.port once, so a busy port fails before the engine starts."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EngineError(f"serve.host={host!r} cannot be resolved ({exc}). Fix: "
                          "serve.host=127.0.0.1 (or 0.0.0.0 for every interface).") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # as uvicorn does: a port in TIME_WAIT is free; one with a listener is not
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            raise EngineError(f"serve.port={port} on serve.host={host!r} cannot be used: "
                              f"{exc.strerror or exc}. Fix: serve.port=<a free port>, or stop "
                              "the process listening there.") from None


def first_line(exc: BaseException) -> str:
    """`Type: first line of the message` (vLLM's messages can run to many lines)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0].rstrip('.') if text else '(no message)'}"


_FIXES = {
    "importing vLLM": "run in the engine venv (bash launch/setup_engine.sh), or mode=plan, "
                      "which needs no vLLM",
    "building the vLLM config": "check engine_args and the checkpoint's config.json; "
                                "mode=plan shows the arguments vLLM was given",
    "running the engine": "check that model.path holds the weights and tokenizer and that "
                          "the machine has memory for them (mode=config builds the "
                          "configuration without loading the model), and that prompts plus "
                          "max_tokens fit runtime.max_model_len",
    "serving": "see the server log above; serve.port/serve.host pick the listen address",
}


def engine_error(mode: str, stage: str, exc: BaseException) -> EngineError:
    """EngineError for an unexpected exception of vLLM at `stage`; the original stays
    chained (and logged at debug level: hydra.verbose=spyre_hydra.engine shows the traceback)."""
    log.debug("mode=%s failed while %s", mode, stage, exc_info=exc)
    fix = _FIXES.get(stage, "see the log above")
    return EngineError(f"mode={mode} failed while {stage}: {first_line(exc)}. Fix: {fix}. "
                       "(hydra.verbose=spyre_hydra.engine prints the full traceback.)")

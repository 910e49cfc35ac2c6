"""Engine-side bad input ends as one EngineError paragraph (rc 2, no traceback): checks that
run before `import vllm`, and vLLM's own failures wrapped with their cause and a fix."""

from __future__ import annotations

import importlib.util
import shutil
import socket

import pytest

from spyre_hydra.errors import EngineError, SpyreHydraError
from spyre_hydra.plan.engine_checks import check_model, check_port, engine_error

G8B = "ibm-granite/granite-3.3-8b-instruct"
OFFLINE = {"HF_HUB_OFFLINE": "1"}
needs_vllm = pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                reason="needs vllm (the engine venv)")


def test_hub_id_offline_is_refused(tmp_path):
    environ = {**OFFLINE, "HF_HUB_CACHE": str(tmp_path)}
    with pytest.raises(EngineError, match=rf"^model '{G8B}' is a Hugging Face id and the hub is "
                       r"offline here .* Fix: model\.path=/path/to/checkpoint$"):
        check_model({"model": G8B}, "config", environ)


def test_hub_id_is_fine_online_or_cached(tmp_path):
    check_model({"model": G8B}, "generate", {"HF_HUB_CACHE": str(tmp_path)})
    snapshot = tmp_path / f"models--{G8B.replace('/', '--')}" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    check_model({"model": G8B}, "generate", {**OFFLINE, "HF_HUB_CACHE": str(tmp_path)})


def test_missing_local_path(tmp_path):
    with pytest.raises(EngineError, match=r"^model\.path='.*/gone' does not exist\. Fix: "
                       r"model\.path=/path/to/checkpoint"):
        check_model({"model": str(tmp_path / "gone")}, "config", OFFLINE)


@pytest.mark.parametrize("mode", ["generate", "serve"])
def test_config_only_checkpoint_cannot_generate_or_serve(granite_8b_config_dir, mode):
    with pytest.raises(EngineError, match=rf"has no tokenizer files \(tokenizer\.json, .*\): "
                       rf"mode=config works with a config-only checkpoint, mode={mode} needs "
                       r"the tokenizer .*Fix: point model\.path at a full checkpoint"):
        check_model({"model": str(granite_8b_config_dir)}, mode, OFFLINE)


def test_config_only_checkpoint_is_fine_for_config_or_with_a_tokenizer(tmp_path,
                                                                       granite_8b_config_dir):
    check_model({"model": str(granite_8b_config_dir)}, "config", OFFLINE)
    args = {"model": str(granite_8b_config_dir), "skip_tokenizer_init": True}
    check_model(args, "generate", OFFLINE)
    ckpt = tmp_path / "full"
    shutil.copytree(granite_8b_config_dir, ckpt)
    (ckpt / "tokenizer.json").write_text("{}")
    check_model({"model": str(ckpt)}, "serve", OFFLINE)


def test_busy_port_is_refused_and_a_free_one_passes():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(EngineError, match=rf"^serve\.port={port} on serve\.host='127\.0\.0\.1'"
                           r" cannot be used: Address already in use\. Fix: serve\.port="):
            check_port("127.0.0.1", port)
    check_port("127.0.0.1", port)  # closed again: free


def test_unresolvable_host():
    with pytest.raises(EngineError, match=r"^serve\.host='no such host\.invalid' cannot be "
                       r"resolved .*Fix: serve\.host=127\.0\.0\.1"):
        check_port("no such host.invalid", 8000)


def test_engine_error_is_one_paragraph_with_cause_and_fix():
    cause = RuntimeError("CUDA out of memory.\nTried to allocate 2 GiB\n  at frame ...")
    error = engine_error("generate", "running the engine", cause)
    assert isinstance(error, SpyreHydraError) and error.exit_code == 2
    text = str(error)
    assert "\n" not in text
    assert text.startswith("mode=generate failed while running the engine: RuntimeError: CUDA "
                           "out of memory. Fix: check that model.path holds the weights")


# --- through spyre-launch: rc 2, the message, no traceback -------------------------------

def _refused(proc, *texts: str) -> None:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for text in texts:
        assert text in proc.stderr, proc.stderr[-3000:]


@pytest.mark.engine
def test_readme_example_on_an_offline_host(launch, tmp_path):
    proc = launch("model=granite_8b", "device=tp4", "backend=eager",
                  HF_HUB_CACHE=str(tmp_path / "hub"))
    _refused(proc, f"spyre-launch: error: model '{G8B}' is a Hugging Face id and the hub is "
             "offline here", "Fix: model.path=/path/to/checkpoint")


@pytest.mark.engine
def test_config_only_checkpoint_generate(launch, granite_8b_config_dir):
    proc = launch("model=granite_8b", "device=tp4", "backend=eager", "mode=generate",
                  f"model.path={granite_8b_config_dir}")
    _refused(proc, "mode=config works with a config-only checkpoint")


@pytest.mark.engine
def test_serve_on_a_busy_port(launch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = launch("mode=serve", "backend=eager", f"serve.port={port}")
    _refused(proc, f"serve.port={port} on serve.host='127.0.0.1' cannot be used")


@pytest.mark.engine
def test_missing_prompts_file(launch, tmp_path):
    proc = launch("mode=generate", "backend=eager", f"prompts_file={tmp_path / 'none.txt'}")
    _refused(proc, "prompts_file: ", "none.txt' does not exist. Fix:")


@pytest.mark.engine
@pytest.mark.slow
@needs_vllm
def test_vllm_failure_at_engine_start_is_wrapped(launch, tiny_granite, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_granite, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    proc = launch("mode=generate", "backend=eager", f"model.path={broken}", "max_tokens=2")
    _refused(proc, "spyre-launch: error: mode=generate failed while running the engine: ",
             "Fix: check that model.path holds the weights")


def test_serve_drops_only_the_expected_engine_death_at_shutdown():
    import logging

    from spyre_hydra.engine.run import _QuietShutdown

    class EngineDeadError(Exception):  # vLLM's name; the filter matches by name (no import)
        pass

    def record(msg, exc=None):
        info = (type(exc), exc, None) if exc else None
        return logging.LogRecord("vllm.v1.engine.async_llm", logging.ERROR, __file__, 1, msg,
                                 None, info)

    quiet = _QuietShutdown()
    assert quiet.filter(record("AsyncLLM output_handler failed.", EngineDeadError()))  # live
    assert quiet.filter(record("[shutdown] API server: shutdown triggered"))
    assert not quiet.filter(record("AsyncLLM output_handler failed.", EngineDeadError()))
    assert quiet.filter(record("other failure", RuntimeError("kept")))

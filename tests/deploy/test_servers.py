"""vLLM's own OpenAI server, talked to with the `openai` client, started three ways:
(a) `spyre-launch mode=serve`, (b) a bundle's serve.sh, (c) a plain vLLM server with the
spyre_hydra general plugin active through SPYRE_HYDRA_OVERRIDES. Tiny model, eager backend,
a few tokens; every server is stopped whatever happens."""

from __future__ import annotations

import importlib.util
import json

import pytest

pytestmark = [pytest.mark.engine, pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is None
                                 or importlib.util.find_spec("openai") is None,
                                 reason="needs vllm and openai (the engine venv)")]
MODEL = "spyre-hydra/tiny-granite"


def _check(result: dict) -> None:
    assert result["models"] == [MODEL]
    completion, chat = result["completion"], result["chat"]
    assert completion.model == MODEL and completion.usage.completion_tokens >= 1
    assert completion.choices[0].text.strip()
    assert chat.choices[0].message.role == "assistant" and chat.usage.completion_tokens >= 1
    assert "".join(result["stream"]).strip() and len(result["stream"]) >= 1
    # the series vLLM's own server exports (log stats on, as in `vllm serve`)
    names = {line.split("{")[0].split(" ")[0] for line in result["vllm_series"]}
    assert "vllm:generation_tokens_total" in names and "vllm:num_requests_running" in names
    assert len(result["vllm_series"]) > 50


def _text_is_words(text: str) -> bool:
    return all(ch.isprintable() for ch in text) and any(ch.isalpha() for ch in text)


def test_a_spyre_launch_mode_serve(tmp_path, tiny_cache, h, srv):
    from spyre_hydra.engine.ports import free_port

    port = free_port()
    cmd = [*h.launch_cmd(), "mode=serve", f"serve.port={port}", "backend=eager"]
    with srv.running(cmd, port, srv.server_env(tmp_path, tiny_cache), tmp_path / "a.log",
                 tmp_path) as base:
        result = srv.exercise(base, MODEL)
    _check(result)
    assert _text_is_words(result["completion"].choices[0].text)


def test_b_bundle_serve_sh(tmp_path, tiny_cache, h, srv):
    from spyre_hydra.engine.ports import free_port

    port = free_port()
    out = tmp_path / "bundle"
    env = srv.server_env(tmp_path, tiny_cache)
    proc = h.run_cli(["export-serve", "model=tiny_granite", "backend=eager",
                      f"serve.port={port}", "--out", str(out)], tmp_path, prog="spyre-hydra",
                     SPYRE_HYDRA_CACHE=str(tiny_cache))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "bundle.json").read_text())
    assert manifest["serve_options"]["model"] == str(tiny_cache / "tiny-granite")
    with srv.running(["sh", str(out / "serve.sh")], port, {**env, "PYTHON": srv.python()},
                 tmp_path / "b.log", tmp_path) as base:
        result = srv.exercise(base, MODEL)
    _check(result)
    log = (tmp_path / "b.log").read_text()
    assert "Using backend: eager" in log  # the bundle's env reached the Spyre plugin


def test_c_plain_vllm_server_with_the_general_plugin(tmp_path, tiny_cache, h, srv):
    from spyre_hydra.engine.ports import free_port

    built = h.run_cli(["export-serve", "model=tiny_granite", "backend=eager", "--out",
                       str(tmp_path / "unused")], tmp_path, prog="spyre-hydra",
                      SPYRE_HYDRA_CACHE=str(tiny_cache))  # builds the checkpoint once
    assert built.returncode == 0, built.stderr
    port = free_port()
    cmd = [srv.python(), "-m", "vllm.entrypoints.openai.api_server", "--model",
           str(tiny_cache / "tiny-granite"), "--served-model-name", MODEL,
           "--max-model-len", "512", "--max-num-seqs", "4", "--port", str(port),
           "--host", "127.0.0.1"]
    env = srv.server_env(tmp_path, tiny_cache, SPYRE_HYDRA_OVERRIDES="model=tiny_granite "
                     "backend=eager")
    with srv.running(cmd, port, env, tmp_path / "c.log", tmp_path) as base:
        result = srv.exercise(base, MODEL)
    _check(result)
    log = (tmp_path / "c.log").read_text()
    lines = [x for x in log.splitlines() if "spyre_hydra: model=tiny_granite" in x]
    assert len(lines) == 1, log[-4000:]  # one line, from the API server process only
    assert "tp=1" in lines[0] and "SENDNN_INFERENCE_DYNAMO_BACKEND=eager" in lines[0]
    assert "SENDNN_INFERENCE_MODEL_CONFIG_FILE=" in lines[0]
    assert "Using backend: eager" in log  # set by the plugin, read by the Spyre platform
    assert "the plan says" not in log  # --max-model-len / tp agree with the plan

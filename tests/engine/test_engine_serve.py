"""`spyre-launch mode=serve`: the OpenAI-compatible server started from the very VllmConfig
object run_mode built and checked; stops cleanly (engine-core process included) on SIGTERM."""

from __future__ import annotations

import importlib.util
import json
import signal
import time
import urllib.error
import urllib.request

import pytest

pytestmark = [pytest.mark.engine, pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                 reason="needs vllm (the engine venv)")]


def _post(url, body, timeout=30):
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def _wait_healthy(base, proc, log, deadline_s=120):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"server exited rc={proc.returncode}\n{log.read_text()[-5000:]}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"server not healthy after {deadline_s}s\n{log.read_text()[-5000:]}")


def test_launch_serve_answers_and_stops_on_sigterm(h, tiny_cache, tmp_path, probe_env):
    import subprocess

    import psutil

    from spyre_hydra.engine.ports import free_port

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([*h.launch_cmd(), "mode=serve", f"serve.port={port}"],
                                cwd=tmp_path, env=probe_env(SPYRE_HYDRA_CACHE=str(tiny_cache)),
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, proc, log)
        out = _post(base + "/v1/completions",
                    {"model": "spyre-hydra/tiny-granite", "prompt": "Hello, my name is",
                     "max_tokens": 8, "temperature": 0, "ignore_eos": True})
        assert out["model"] == "spyre-hydra/tiny-granite"  # served under the catalog name
        assert out["usage"]["completion_tokens"] == 8
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()[-5000:]
        # the engine core is killed on purpose at shutdown: not reported as an engine death
        assert "EngineDeadError" not in log.read_text(), log.read_text()[-5000:]
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"left behind: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

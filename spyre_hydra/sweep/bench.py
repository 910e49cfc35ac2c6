"""mode=bench: a serving benchmark per sweep point against vLLM's OpenAI server of its plan.

The server is `spyre-launch <the point's overrides> mode=serve serve.port=<free port>` in a
subprocess (so it runs exactly what the plan says, with the job's environment), started once
per engine configuration and reused by the following points that differ only in benchmark
parameters (bench.*, sweep.repeats). The client is the benchmark that fits the backend, in a
subprocess too: on the Spyre backends (sendnn, eager) the plugin's sendnn-bench serve
(sendnn_inference.benchmarks.spyre_bench_serve: vLLM's bench serve plus Spyre per-request
metrics, which the server reports with SENDNN_INFERENCE_BENCH_METRICS_ENABLED=1); else vLLM's
own `vllm bench serve` (vllm.benchmarks.serve). Both get a random dataset sized to the
point's prompt_len / new_tokens and write vLLM's result JSON into the job dir.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from spyre_hydra.errors import SpyreHydraError
from spyre_hydra.io.writer import open_stream
from spyre_hydra.sweep.bench_metrics import combine, metrics_of, spread

#: Overrides that choose what to measure, not which engine runs: never part of a server.
NOT_SERVER = ("mode=", "bench.", "sweep.", "+sweep", "hydra.")  # "mode=": not model=


class BenchError(SpyreHydraError):
    """A bench job could not start its server or run its benchmark."""


class _Server:
    def __init__(self, key: str, proc: subprocess.Popen, port: int, log: Path, start_s: float):
        self.key, self.proc, self.port, self.log, self.start_s = key, proc, port, log, start_s
        self.reused = False


_current: _Server | None = None


def server_overrides(overrides) -> list[str]:
    """The point's overrides that shape the engine (bench and sweep settings removed, but
    sweep.explore kept: it decides whether an unlisted layout gets the device settings)."""
    return [o for o in overrides if (not str(o).lstrip("+~").startswith(NOT_SERVER)
                                     or str(o).lstrip("+~").startswith("sweep.explore="))
            and not str(o).startswith("+sweep=")]


def engine_key(plan, env: dict) -> str:
    """What makes two points need different servers."""
    data = plan.to_dict()
    keep = {k: data.get(k) for k in ("model", "option", "tp_size", "sendnn_version", "runtime",
                                     "backend", "engine_args", "env", "backend_env",
                                     "warmup_shapes")}
    return json.dumps({"plan": keep, "env": sorted(env.items())}, sort_keys=True, default=str)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "".join("\n  " + t for t in text[-lines:])


def stop_server() -> None:
    """Stop the running server (SIGTERM, then SIGKILL after 30 s)."""
    global _current
    server, _current = _current, None
    if server is None or server.proc.poll() is not None:
        return
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


atexit.register(stop_server)


def get_server(plan, overrides, env: dict, job_dir: Path, timeout: float) -> _Server:
    """The server of this plan: the running one when it fits, else a new one (the old one is
    stopped first: one engine at a time)."""
    global _current
    key = engine_key(plan, env)
    if _current is not None and _current.key == key and _current.proc.poll() is None:
        _current.reused = True
        return _current
    from spyre_hydra.engine.ports import free_port

    stop_server()
    port = free_port()
    log = job_dir / "server.log"
    cmd = [sys.executable, "-m", "spyre_hydra.cli.launch", *server_overrides(overrides),
           "mode=serve", "serve.host=127.0.0.1", f"serve.port={port}"]
    started = time.perf_counter()
    with open_stream(log) as handle:  # a stream: the server's own log
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    # known at once, so that an interrupt during the readiness wait (or the exit) stops it:
    # the server runs in its own session and would outlive the sweep otherwise
    _current = _Server(key, proc, port, log, 0.0)
    url = f"http://127.0.0.1:{port}/health"
    try:
        while True:
            if proc.poll() is not None:
                raise BenchError(f"the server exited with code {proc.returncode} before it "
                                 f"was ready (log: {log}){_tail(log)}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - started > timeout:
                raise BenchError(f"the server did not answer {url} within {timeout:.0f}s (log: "
                                 f"{log}). Fix: bench.server_timeout_s=<longer>.")
            time.sleep(0.5)
    except BaseException:
        stop_server()
        raise
    _current = _Server(key, proc, port, log, round(time.perf_counter() - started, 3))
    return _current


def workload(plan) -> dict[str, Any]:
    """prompt_len, new_tokens, concurrency, num_prompts and request rate of this point."""
    bench = dict(plan.inputs.bench)
    shapes = plan.warmup_shapes
    args = plan.args
    if shapes:
        prompt, new, batch = max(s[0] for s in shapes), max(s[1] for s in shapes), \
            max(s[2] for s in shapes)
    else:
        prompt, new, batch = args["max_model_len"] // 2, plan.inputs.max_tokens, \
            args["max_num_seqs"]
    # random prompts are decoded and tokenized again, which can add a token or two: leave
    # 1/16 of the shape as slack so no request exceeds the compiled prompt length
    prompt -= max(1, prompt // 16)
    concurrency = int(bench.get("max_concurrency") or batch)
    return {"prompt_len": int(bench.get("prompt_len") or prompt),
            "new_tokens": int(bench.get("new_tokens") or new), "concurrency": concurrency,
            "num_prompts": int(bench.get("num_prompts") or 4 * concurrency),
            "request_rate": str(bench.get("request_rate") or "inf")}


def client_command(plan, spyre: bool, port: int, model: str, tokenizer: str,
                   load: dict, job_dir: Path, name: str) -> list[str]:
    """The benchmark client's command line: sendnn-bench serve when the backend runs the
    Spyre plugin (`spyre`), else vllm bench serve."""
    if spyre:
        head = [sys.executable, "-m", "sendnn_inference.benchmarks.spyre_bench_serve"]
        extra = ["--detailed-timeline"]
    else:
        head = [sys.executable, "-m", "spyre_hydra.sweep.bench_client", "--backend", "vllm"]
        extra = []
    return [*head, "--host", "127.0.0.1", "--port", str(port), "--model", model,
            "--tokenizer", tokenizer, "--endpoint", "/v1/completions",
            "--dataset-name", "random", "--random-input-len", str(load["prompt_len"]),
            "--random-output-len", str(load["new_tokens"]), "--random-range-ratio", "0",
            "--num-prompts", str(load["num_prompts"]),
            "--max-concurrency", str(load["concurrency"]),
            "--request-rate", load["request_rate"], "--ignore-eos",
            "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,99",
            "--save-result", "--save-detailed", "--result-dir", str(job_dir), "--result-filename", name,
            "--disable-tqdm", *extra]


def spyre_stats(result: dict) -> dict[str, Any]:
    """mean/p50/p99 of each per-request Spyre metric the plugin put in the result."""
    import statistics

    out = {}
    for key, values in result.items():
        if key.startswith("spyre") and isinstance(values, list):
            nums = sorted(v for v in values if isinstance(v, (int, float)) and v >= 0)
            if nums:
                out[key] = {"mean": round(statistics.fmean(nums), 4),
                            "p50": nums[len(nums) // 2],
                            "p99": nums[min(len(nums) - 1, int(len(nums) * 0.99))]}
    return out


def engine_side(plan) -> tuple[Any, dict[str, Any]]:
    """The backend (the backend table's entry) and the EngineArgs the server of a plan
    runs with."""
    from spyre_hydra.engine.launchenv import plan_backend, resolve_engine_args

    return plan_backend(plan), resolve_engine_args(plan)


def run_bench(plan, env: dict, job) -> dict[str, Any]:
    """Start or reuse the server, run the benchmark sweep.repeats times, return the record.
    `job`: the sweep job (its dir and overrides: spyre_hydra.sweep.job.JobInfo)."""
    job_dir = Path(job.dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    bench = dict(plan.inputs.bench)
    backend, resolved = engine_side(plan)
    env = dict(env)
    if backend.spyre_plugin:
        env["SENDNN_INFERENCE_BENCH_METRICS_ENABLED"] = "1"
    server = get_server(plan, list(job.overrides), env, job_dir,
                        float(bench.get("server_timeout_s") or 600))
    model = str(resolved.get("served_model_name") or resolved["model"])
    load = workload(plan)
    repeats = max(1, int(plan.inputs.sweep.get("repeats") or 1))
    runs, spyre, files = [], {}, []
    for index in range(repeats):
        name = f"bench_{index}.json"
        cmd = client_command(plan, backend.spyre_plugin, server.port, model,
                             str(resolved["model"]), load, job_dir, name)
        with open_stream(job_dir / "bench.log", append=True) as log:  # the client's log
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  check=False)
        path = job_dir / name
        if proc.returncode != 0 or not path.is_file():
            raise BenchError(f"the benchmark client exited with code {proc.returncode} (log: "
                             f"{job_dir / 'bench.log'}){_tail(job_dir / 'bench.log')}")
        result = json.loads(path.read_text(encoding="utf-8"))
        runs.append(metrics_of(result))
        spyre = spyre_stats(result) or spyre
        files.append(str(path))
    timeline = sorted(str(p) for p in job_dir.glob("*_detailed_timeline.html"))
    return {"client": "sendnn-bench serve" if backend.spyre_plugin else
            "vllm bench serve", "workload": load, "server_start_s": server.start_s,
            "server_reused": server.reused, "server_log": str(server.log), "metrics": combine(runs), "runs": runs,
            "spread": spread(runs) if repeats > 1 else {}, "spyre": spyre,
            "result_files": files, "timeline": timeline,
            "timings": {"server_start_s": server.start_s}}

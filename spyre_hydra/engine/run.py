"""Start vLLM (V1 engine, vllm 0.28) from an already-built VllmConfig.

Everything here takes the VllmConfig produced by build.build_vllm_config, never engine
args, so what `mode=config` prints is exactly what runs. vLLM and the platform plugin
read env vars at import time: apply backend_env() before anything imports vllm (a fresh
process is the safe way).
"""

from __future__ import annotations

import time
from typing import Any, Sequence


def start_engine(vllm_config):
    """Synchronous V1 LLMEngine. In-process core when VLLM_ENABLE_V1_MULTIPROCESSING=0
    (what tests use: no extra engine-core process, faster, debuggable); otherwise vLLM
    spawns the EngineCore process itself."""
    from vllm.v1.engine.llm_engine import LLMEngine

    return LLMEngine.from_vllm_config(vllm_config, disable_log_stats=True)


def stop_engine(engine) -> None:
    # LLMEngine has no shutdown() of its own in 0.28; the core client owns the
    # executor/workers (and the EngineCore process in multiprocess mode).
    core = getattr(engine, "engine_core", None)
    if core is None:
        return
    try:
        core.shutdown()
    except RuntimeError as e:
        # SpyrePlatform is an out-of-tree platform, so vLLM's cleanup_dist_env_and_memory
        # (is_cpu() False) ends with torch.accelerator.empty_cache(), which raises on a
        # machine without an accelerator. It is the very last cleanup step -- process
        # groups are already destroyed -- so ignoring exactly this error is safe.
        if "accelerator" not in str(e):
            raise


def generate(
    vllm_config,
    prompts: Sequence[str],
    max_tokens: int = 16,
    *,
    ignore_eos: bool = True,
    engine=None,
) -> list[dict[str, Any]]:
    """Greedy-decode each prompt; returns one dict per prompt, each carrying the shared
    timings (engine_start_s, generate_s, tokens_per_s) so callers can print any row.

    ignore_eos defaults to True: random tiny models hit EOS at arbitrary points, and a
    fixed token count makes tokens/s comparable between runs.
    """
    from vllm import SamplingParams

    t0 = time.perf_counter()
    own = engine is None
    if own:
        engine = start_engine(vllm_config)
    start_s = time.perf_counter() - t0
    try:
        params = SamplingParams(max_tokens=max_tokens, temperature=0.0, ignore_eos=ignore_eos)
        t1 = time.perf_counter()
        for i, p in enumerate(prompts):
            try:
                engine.add_request(str(i), p, params)
            except ValueError as e:  # too long for max_model_len (vLLM or the Spyre check)
                from ..errors import ConfigValidationError, Problem

                raise ConfigValidationError([Problem(
                    f"prompts[{i}]", f"{p[:40]!r}... with max_tokens={max_tokens}: {e}",
                    fix="shorten the prompt, lower max_tokens, or pick a runtime with a "
                        "longer max_model_len")]) from None
        done: dict[str, Any] = {}
        while engine.has_unfinished_requests():
            for out in engine.step():
                if out.finished:
                    done[out.request_id] = out
        gen_s = time.perf_counter() - t1
    finally:
        if own:
            stop_engine(engine)
    total = sum(len(o.outputs[0].token_ids) for o in done.values())
    rows = []
    for i, p in enumerate(prompts):
        o = done[str(i)].outputs[0]
        rows.append(
            {
                "prompt": p,
                "text": o.text,
                "token_ids": list(o.token_ids),
                "num_tokens": len(o.token_ids),
                "finish_reason": o.finish_reason,
                "engine_start_s": round(start_s, 3),
                "generate_s": round(gen_s, 3),
                "tokens_per_s": round(total / gen_s, 2) if gen_s > 0 else None,
            }
        )
    return rows


def _server_args(vllm_config, host: str, port: int, extra_cli: Sequence[str]):
    """The API layer (FastAPI app, init_app_state) still wants vLLM's CLI Namespace for
    frontend-only options (served names, chat template, ...). Engine options in it are
    ignored here: the engine is built from vllm_config, not from these args."""
    from vllm.entrypoints.openai.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = make_arg_parser(FlexibleArgumentParser(description="spyre_hydra serve"))
    mc = vllm_config.model_config
    argv = ["--model", mc.model, "--host", host, "--port", str(port), *extra_cli]
    args = parser.parse_args(argv)
    names = mc.served_model_name
    args.served_model_name = [names] if isinstance(names, str) else list(names or [mc.model])
    return args


async def serve_async(vllm_config, host: str = "127.0.0.1", port: int = 8000,
                      extra_cli: Sequence[str] = ()) -> None:
    """OpenAI-compatible server driven by this exact VllmConfig.

    Mirrors vllm.entrypoints.openai.api_server.run_server_worker, swapping its
    `build_async_engine_client(args)` (which rebuilds a config from CLI args) for
    AsyncLLM.from_vllm_config(vllm_config). serve_http installs SIGINT/SIGTERM handlers
    on the loop that stop uvicorn; the finally block then shuts the engine down.
    """
    from vllm.entrypoints.openai.api_server import build_and_serve, setup_server
    from vllm.usage.usage_lib import UsageContext
    from vllm.v1.engine.async_llm import AsyncLLM

    args = _server_args(vllm_config, host, port, extra_cli)
    # Bind before the (slow) engine start so a busy port fails fast.
    listen_address, sock = setup_server(args, reuse_port=False)
    engine = None
    try:
        engine = AsyncLLM.from_vllm_config(
            vllm_config,
            usage_context=UsageContext.OPENAI_API_SERVER,
            disable_log_stats=True,
        )
        shutdown_task = await build_and_serve(engine, listen_address, sock, args)
        await shutdown_task
    finally:
        if engine is not None:
            engine.shutdown()
        sock.close()


class _QuietShutdown:
    """Log filter for vLLM's handlers: once the API server logs that shutdown started, the
    engine core is killed on purpose (timeout 0) and AsyncLLM's output handler reports that
    as an EngineDeadError traceback -- expected, so dropped; before that it is kept."""

    def __init__(self):
        self.stopping = False

    def filter(self, record) -> bool:
        if "shutdown triggered" in str(record.msg):
            self.stopping = True
        exc = record.exc_info[1] if record.exc_info else None
        return not (self.stopping and type(exc).__name__ == "EngineDeadError")


def serve(vllm_config, host: str = "127.0.0.1", port: int = 8000,
          extra_cli: Sequence[str] = ()) -> None:
    """Blocking wrapper around serve_async; returns after SIGINT/SIGTERM."""
    import logging
    import signal

    import uvloop

    quiet = _QuietShutdown()
    for handler in logging.getLogger("vllm").handlers:
        handler.addFilter(quiet)

    # Until uvicorn installs its own handlers, turn SIGTERM into KeyboardInterrupt so a
    # stop during the slow engine start still unwinds through the finally blocks.
    def _interrupt(*_):
        raise KeyboardInterrupt("terminated")

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        uvloop.run(serve_async(vllm_config, host, port, extra_cli))
    except KeyboardInterrupt:
        pass

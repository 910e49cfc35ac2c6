"""Start vLLM (V1 engine, vllm 0.28): offline generation from an already-built VllmConfig,
and `mode=serve` as vLLM's own `vllm serve` code path.

generate() takes the VllmConfig produced by build.build_vllm_config, never engine args, so
what `mode=config` prints is exactly what runs. serve() runs vLLM's serve subcommand on the
plan's engine args parsed by vLLM's own parser, after run_mode has built and checked the
VllmConfig those same args give. vLLM and the platform plugin read env vars at import
time: apply backend_env() before anything imports vllm (a fresh process is the safe way).
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
                from spyre_hydra.errors import ConfigValidationError, Problem

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


def serve_argv(options: dict, known: set[str]) -> list[str]:
    """`vllm serve` arguments for an option mapping, converted as vLLM converts a --config
    YAML (FlexibleArgumentParser.load_config_file): true -> --flag, false -> --no-flag,
    lists as several values, mappings as JSON."""
    import json

    from spyre_hydra.errors import EngineError
    from spyre_hydra.plan.engine_fields import flag_like

    argv: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None:
            continue
        if flag_like(value) is not None:  # the plan refuses it; never spread it as an option
            raise EngineError(f"engine_args.{key}={value!r}: {flag_like(value)!r} would be read "
                              "by `vllm serve` as an option. Fix: set that option by its name.")
        if isinstance(value, bool):
            if value:
                argv.append(flag)
            elif "--no-" + flag[2:] in known:
                argv.append("--no-" + flag[2:])
        elif isinstance(value, (list, tuple)):
            argv += [flag, *map(str, value)] if value else []
        elif isinstance(value, dict):
            argv += [flag, json.dumps(value)]
        else:
            argv += [flag, str(value)]
    return argv


def serve_args(engine_args: dict, host: str, port: int):
    """vLLM's `serve` subcommand parser (the one `vllm serve` builds) applied to the plan's
    engine args plus host and port; returns (subcommand, parsed args). Every serve option
    is accepted by name, engine or frontend; an unknown one is refused here."""
    from vllm.entrypoints.cli.serve import ServeSubcommand
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    from spyre_hydra.errors import EngineArgsError

    parser = FlexibleArgumentParser(prog="vllm")
    command = ServeSubcommand()
    serve_parser = command.subparser_init(parser.add_subparsers(dest="subparser"))
    argv = ["serve", *serve_argv({**engine_args, "host": host, "port": int(port)},
                                 set(serve_parser._option_string_actions))]
    try:
        args, unknown = parser.parse_known_args(argv)
    except SystemExit:  # argparse printed its usage line on stderr already
        raise EngineArgsError(f"vLLM's serve parser refused {argv[1:]}. Fix: use `vllm serve "
                              "--help` option names (engine_args.<name with _>).") from None
    if unknown:
        raise EngineArgsError(f"engine_args: {unknown} is not a `vllm serve` option. Fix: use "
                              "`vllm serve --help` names with _ for -, e.g. "
                              "engine_args.enable_prefix_caching=true.")
    command.validate(args)
    return command, args


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


def serve(command, args, check=None) -> None:
    """Run vLLM's own `vllm serve` (ServeSubcommand.cmd: the API server, /metrics, log
    stats and every option as `vllm serve` has them) on parsed serve_args; returns after
    SIGINT/SIGTERM. `check(vllm_config)` runs on the config the server itself builds, right
    after the platform's hook, so the server is held to the plan too."""
    import logging

    from vllm.entrypoints.serve.utils.api_utils import cli_env_setup

    quiet = _QuietShutdown()
    for handler in logging.getLogger("vllm").handlers:
        handler.addFilter(quiet)
    if check is not None:
        _after_platform_check(check)
    cli_env_setup()
    try:
        command.cmd(args)
    except KeyboardInterrupt:  # SIGTERM/SIGINT during start-up: a clean stop
        pass


def _after_platform_check(check) -> None:
    """Call `check(vllm_config)` after current_platform.check_and_update_config, the last
    edit vLLM makes to a VllmConfig (the one public point where the server's config is
    complete and still in this process)."""
    from vllm.platforms import current_platform

    cls = type(current_platform)
    original = cls.check_and_update_config

    def check_and_update_config(klass, vllm_config) -> None:
        original(vllm_config)
        check(vllm_config)

    cls.check_and_update_config = classmethod(check_and_update_config)

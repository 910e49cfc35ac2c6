"""Run one engine action in a fresh process and print one JSON line prefixed RESULT=.

vLLM resolves its platform (and the Spyre plugin reads its env) once per process, and
the Spyre config hook leaves VLLM_DT_* vars in os.environ that change the next build; so
every engine case gets its own interpreter. Usage:

    python engine_probe.py '{"backend": "eager", "action": "config", "engine_args": {...}}'
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(spec: dict) -> dict:
    from spyre_hydra.engine.backend import backend_env

    env = backend_env(spec["backend"])
    env.update(spec.get("env", {}))
    os.environ.update(env)  # before vllm is imported anywhere

    t0 = time.perf_counter()
    import vllm  # noqa: F401

    out: dict = {"import_vllm_s": round(time.perf_counter() - t0, 2)}
    from spyre_hydra.engine.build import (
        EngineArgsError,
        build_vllm_config,
        summarize_vllm_config,
    )

    if spec["action"] == "invalid":
        probe_env = {"SPYRE_HYDRA_PROBE_MARK": "1"}
        try:
            build_vllm_config(spec["engine_args"], probe_env)
        except EngineArgsError as e:
            out.update(
                error_type=type(e).__name__,
                message=str(e),
                env_restored="SPYRE_HYDRA_PROBE_MARK" not in os.environ,
            )
        return out

    t0 = time.perf_counter()
    vc = build_vllm_config(spec["engine_args"], {})
    out["build_s"] = round(time.perf_counter() - t0, 2)
    out["summary"] = summarize_vllm_config(vc)
    if spec["action"] == "generate":
        from spyre_hydra.engine.run import generate

        out["rows"] = generate(vc, spec["prompts"], spec.get("max_tokens", 8))
    return out


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    print("RESULT=" + json.dumps(result, default=str), flush=True)

"""Run one engine action in a fresh process and print one JSON line prefixed RESULT=.

vLLM resolves its platform (and the Spyre plugin reads its env) once per process, and
the Spyre config hook leaves VLLM_DT_* vars in os.environ that change the next build; so
every engine case gets its own interpreter. Usage:

    python engine_probe.py '{"backend": "eager", "action": "invalid", "engine_args": {...}}'
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(spec: dict) -> dict:
    from spyre_hydra.engine.launchenv import backend_env

    env = backend_env(spec["backend"])
    env.update(spec.get("env", {}))
    os.environ.update(env)  # before vllm is imported anywhere

    t0 = time.perf_counter()
    import vllm  # noqa: F401

    out: dict = {"import_vllm_s": round(time.perf_counter() - t0, 2)}
    from spyre_hydra.engine.build import EngineArgsError, build_vllm_config

    if spec["action"] == "invalid":
        probe_env = {"SPYRE_HYDRA_PROBE_MARK": "1"}
        before = dict(os.environ)
        try:
            build_vllm_config(spec["engine_args"], probe_env)
        except EngineArgsError as e:
            out.update(
                error_type=type(e).__name__,
                message=str(e),
                cause_type=type(e.__cause__).__name__ if e.__cause__ else None,
                env_restored=dict(os.environ) == before,
            )
        return out

    if spec["action"] == "plugin_registry":
        return out | plugin_registry(spec)
    raise ValueError(f"unknown probe action {spec['action']!r}")


def plugin_registry(spec: dict) -> dict:
    """The plugin's own registry (sendnn-inference), loaded from
    SENDNN_INFERENCE_MODEL_CONFIG_FILE, configuring a VllmConfig-shaped object that has no
    num_gpu_blocks_override yet: what it sets is what it would apply on a card."""
    from types import SimpleNamespace

    from sendnn_inference.config.model_registry import ModelConfigRegistry
    from transformers import AutoConfig

    registry = ModelConfigRegistry()
    registry.initialize()
    vc = SimpleNamespace(
        model_config=SimpleNamespace(model=spec["model"], max_model_len=spec["max_model_len"],
                                     hf_config=AutoConfig.from_pretrained(spec["model"])),
        parallel_config=SimpleNamespace(world_size=spec["tp"]),
        scheduler_config=SimpleNamespace(max_num_seqs=spec["max_num_seqs"]),
        cache_config=SimpleNamespace(num_gpu_blocks_override=None))
    for key in spec["env_keys"]:
        os.environ.pop(key, None)
    configurator = registry.get_configurator_for_runtime(vc)
    configurator.configure(vc)
    return {"loaded_from": str(registry._resolve_config_path(None)),
            "matched": configurator.model_config.name,
            "num_gpu_blocks_override": vc.cache_config.num_gpu_blocks_override,
            "env": {k: os.environ.get(k) for k in spec["env_keys"]}}


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    print("RESULT=" + json.dumps(result, default=str), flush=True)

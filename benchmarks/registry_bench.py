"""Registry speed against the Spyre plugin's own registry, as ratios measured in one run.

    python benchmarks/registry_bench.py [--reps 15] [--plugin-dir DIR]

1. catalog load, cold (empty cache) and warm (cache hit), against sendnn-inference 2.6.3's
   ModelConfigRegistry.initialize() on the same catalog (ours exported to its YAML schema).
   Only the load is timed, never the imports.
2. `spyre-launch ... mode=plan` wall time (fresh subprocess) against `python -c "import vllm"`
   in the engine venv.
3. find_matching_model median latency with 10,000 synthetic models.
4. a user conf dir of 5,000 model files (overlaying the shipped catalog), loaded warm: the
   registry built from the cache (goal <= 0.5 s), and its ratio to the one cold load.

The plugin's registry code comes from the engine venv when it is installed there, else from
`pip download --no-deps sendnn-inference==2.6.3` into a temp dir. Its modules import
`vllm.logger` and `sendnn_inference.envs`, which get tiny stand-ins so that vllm isn't needed.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
import zipfile
from pathlib import Path
from types import SimpleNamespace

import yaml

REPO = Path(__file__).resolve().parents[1]
ENGINE_PY = REPO / ".venv-engine" / "bin" / "python"
PLUGIN = "sendnn-inference==2.6.3"
PLAN_ARGS = ["model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "mode=plan"]
N_MODELS = 10_000


def median_ms(fn, reps: int, setup=None, clock=time.process_time) -> float:
    """Median of `reps` timed calls. In-process timings use this process's CPU time, so
    that other work on a shared machine doesn't land on one side only; wall time is used
    for subprocesses."""
    times = []
    for _ in range(reps):
        if setup:
            setup()
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times) * 1000


def report(label: str, ours: float, theirs: float, goal: float, unit="ms", what="plugin"):
    ratio = ours / theirs
    verdict = "PASS" if ratio <= goal else "MISS"
    print(f"{label:<34} ours {ours:9.2f} {unit}  {what} {theirs:9.2f} {unit}  "
          f"ratio {ratio:6.3f}x  goal <= {goal}x  {verdict}")
    return verdict


# -- the plugin's registry, without vllm ------------------------------------------------
def plugin_package_dir(explicit: str | None, source: str = "auto") -> Path:
    """The sendnn_inference package dir: --plugin-dir, the engine venv, or a pip download."""
    if explicit:
        return Path(explicit)
    found = sorted((REPO / ".venv-engine" / "lib").glob("python*/site-packages/sendnn_inference"))
    if found and source != "pip":
        return found[0]
    dest = Path(tempfile.mkdtemp(prefix="plugin-wheel-"))
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d",
                    str(dest), PLUGIN], check=True)
    wheel = next(dest.glob("sendnn_inference-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest / "unpacked")
    return dest / "unpacked" / "sendnn_inference"


def import_plugin_registry(package_dir: Path):
    """sendnn_inference.config.model_registry with stand-ins for vllm.logger and envs."""
    pkg = types.ModuleType("sendnn_inference")
    pkg.__path__ = [str(package_dir)]  # skip its __init__ (reads its own dist metadata)
    envs = types.ModuleType("sendnn_inference.envs")
    envs.SENDNN_INFERENCE_MODEL_CONFIG_FILE = None
    pkg.envs = envs
    vllm = types.ModuleType("vllm")
    vllm.__path__ = []
    vllm_logger = types.ModuleType("vllm.logger")
    vllm_logger.init_logger = logging.getLogger
    vllm.logger = vllm_logger
    sys.modules.update({"sendnn_inference": pkg, "sendnn_inference.envs": envs,
                        "vllm": vllm, "vllm.logger": vllm_logger})
    from sendnn_inference.config import model_config, model_registry  # noqa: E402
    return model_registry, model_config


def export_plugin_yaml(registry, path: Path) -> None:
    """Our catalog in the plugin 2.6.3 schema (blocks at the `default` version)."""
    from spyre_hydra.conftree.versions import select_block_override

    models = {}
    for name in registry.list_models():
        e = registry.get_model_config(name)
        cb = []
        for entry in e.continuous_batching_configs:
            item = dict(entry)
            raw = e.device_configs.get(registry.devices.get(entry["tp_size"], ""))
            if raw:
                item["device_config"] = {
                    "env_vars": dict(raw.get("env_vars") or {}),
                    "num_gpu_blocks_override": select_block_override(
                        raw.get("num_gpu_blocks_override"), None)}
            cb.append(item)
        static = [{"tp_size": s["tp_size"], "warmup_shapes": [
            {"prompt_len": p, "batch_size": b} for p, _, b in s["warmup_shapes"]]}
            for s in e.static_batching_configs]
        models[name] = {"architecture": dict(e.architecture), "platforms": list(e.platforms),
                        "continuous_batching_configs": cb, "static_batching_configs": static}
    path.write_text(yaml.safe_dump({"models": models}, sort_keys=False))


# -- 1. catalog load ---------------------------------------------------------------------
def bench_load(reps: int, plugin_registry) -> list[str]:
    from spyre_hydra.catalog.registry import ModelConfigRegistry

    work = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    os.environ["SPYRE_HYDRA_CACHE"] = str(work / "cache")
    export_plugin_yaml(ModelConfigRegistry(use_cache=False), work / "model_configs.yaml")
    cls = plugin_registry.ModelConfigRegistry

    def theirs():
        cls().initialize(work / "model_configs.yaml")

    counter = iter(range(10**6))

    def empty_cache():
        os.environ["SPYRE_HYDRA_CACHE"] = str(work / f"cold-{next(counter)}")

    theirs()  # both sides get one untimed run first (lazy imports inside the loaders)
    ModelConfigRegistry()
    plugin_ms = median_ms(theirs, reps)
    cold = median_ms(lambda: ModelConfigRegistry(), reps, setup=empty_cache)
    os.environ["SPYRE_HYDRA_CACHE"] = str(work / "warm")
    ModelConfigRegistry()
    warm = median_ms(lambda: ModelConfigRegistry(), reps)
    print(f"catalog: {len(ModelConfigRegistry(use_cache=False).list_models())} models, "
          f"plugin YAML {work / 'model_configs.yaml'}")
    return [report("catalog load, cold (empty cache)", cold, plugin_ms, 2),
            report("catalog load, warm (cache hit)", warm, plugin_ms, 0.5)]


# -- 2. plan wall time -------------------------------------------------------------------
def bench_plan(reps: int) -> list[str]:
    launch = Path(sys.executable).parent / "spyre-launch"
    cmd = [str(launch)] if launch.exists() else [sys.executable, "-m", "spyre_hydra.cli.launch"]
    env = {k: v for k, v in os.environ.items() if k != "SPYRE_HYDRA_CACHE"}

    def plan():
        subprocess.run([*cmd, *PLAN_ARGS], check=True, env=env, capture_output=True)

    plan()  # fills the user's catalog cache, as any second launch would find it
    plan_ms = median_ms(plan, reps, clock=time.perf_counter)
    if not ENGINE_PY.exists():
        print(f"plan wall time: {plan_ms:.0f} ms; import vllm skipped: no vllm")
        return []
    probe = subprocess.run([str(ENGINE_PY), "-c", "import vllm"], capture_output=True)
    if probe.returncode != 0:
        print(f"plan wall time: {plan_ms:.0f} ms; import vllm skipped: no vllm")
        return []
    vllm_ms = median_ms(lambda: subprocess.run([str(ENGINE_PY), "-c", "import vllm"],
                                               check=True, capture_output=True),
                        max(3, reps // 3), clock=time.perf_counter)
    return [report("mode=plan vs import vllm (wall)", plan_ms, vllm_ms, 0.1,
                   what="import vllm")]


# -- 4. a big user conf dir ----------------------------------------------------------------
N_CONF_MODELS = 5_000


def write_big_conf_dir(root: Path, n: int) -> Path:
    """n model files of one model_type over the shipped family base, as a user's dir."""
    folder = root / "model"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"m{i:05d}.yaml").write_text(
            f"defaults:\n  - family/base@_here_\n  - _self_\nhf_id: org/m{i:05d}\n"
            f"family: tiny\narchitecture:\n  model_type: granite\n  num_hidden_layers: "
            f"{i % 7 + 1}\n  hidden_size: {128 + i}\n  num_attention_heads: 2\n"
            "continuous_batching_configs:\n  - {tp_size: 1, max_model_len: 512, "
            "max_num_seqs: 4}\n")
    return root


def bench_big_conf_dir(reps: int) -> list[str]:
    from spyre_hydra.catalog.registry import ModelConfigRegistry

    work = Path(tempfile.mkdtemp(prefix="registry-bench-big-"))
    conf = write_big_conf_dir(work / "conf", N_CONF_MODELS)
    os.environ["SPYRE_HYDRA_CACHE"] = str(work / "cache")
    cold = median_ms(lambda: ModelConfigRegistry(conf), 1)
    warm = median_ms(lambda: ModelConfigRegistry(conf), max(3, reps // 3))
    verdict = "PASS" if warm <= 500 else "MISS"
    print(f"{'5,000-model conf dir, warm':<34} ours {warm:9.2f} ms  cold {cold:9.2f} ms  "
          f"ratio {warm / cold:6.3f}x  goal <= 500 ms (absolute)  {verdict}")
    return [verdict]


# -- 3. match latency --------------------------------------------------------------------
ATTRS = ("num_hidden_layers", "hidden_size", "vocab_size", "num_attention_heads",
         "num_key_value_heads", "max_position_embeddings", "intermediate_size")


def synthetic_architectures(n: int, n_types: int, rng: random.Random) -> list[dict]:
    """n distinct patterns over n_types model types, 4-7 attributes each, some quantized."""
    out, seen = [], set()
    while len(out) < n:
        arch = {"model_type": f"type{rng.randrange(n_types)}"}
        for key in rng.sample(ATTRS, rng.randint(4, 7)):
            arch[key] = rng.choice([8, 16, 24, 32, 40, 48, 64, 80]) * rng.randint(1, 64)
        if rng.random() < 0.2:
            arch["quantization_config"] = {"quant_method": rng.choice(["fp8", "gptq", "awq"])}
        key = repr(sorted(arch.items(), key=lambda kv: kv[0]))
        if key not in seen:
            seen.add(key)
            out.append(arch)
    return out


def bench_match(reps: int, plugin_registry, plugin_config) -> list[str]:
    from spyre_hydra.catalog.matcher import ModelMatcher, Pattern
    from spyre_hydra.catalog.registry import ModelConfigRegistry

    verdicts = []
    for label, n_types in (("50 model types", 50), ("one model type", 1)):
        rng = random.Random(1234)
        archs = synthetic_architectures(N_MODELS, n_types, rng)
        ours = ModelConfigRegistry.__new__(ModelConfigRegistry)  # matcher only: no conf tree
        ours.matcher = ModelMatcher(Pattern.from_architecture(f"m{i}", a, 0, i)
                                    for i, a in enumerate(archs))
        ours._models = {f"m{i}": SimpleNamespace(name=f"m{i}") for i in range(len(archs))}
        theirs = plugin_registry.ModelConfigRegistry()
        for i, arch in enumerate(archs):
            theirs.register_model(plugin_config.ModelConfig.from_dict(f"m{i}", {
                "architecture": arch,
                "continuous_batching_configs": [{"tp_size": 1, "max_model_len": 64,
                                                 "max_num_seqs": 1}]}))
        queries = []
        for _ in range(200):  # 3 of 4 queries hit a pattern (plus extra HF keys), 1 misses
            arch = dict(rng.choice(archs))
            arch.update({"torch_dtype": "bfloat16", "architectures": ["X"]})
            if rng.random() < 0.25:
                arch["num_hidden_layers"] = -1
            queries.append(SimpleNamespace(hf_config=SimpleNamespace(**arch), model="q"))
        got = [ours.find_matching_model(q) for q in queries]
        want = [getattr(theirs.find_matching_model(q), "name", None) for q in queries]
        agree = sum(a == b for a, b in zip(got, want))
        per_ours = [median_ms(lambda q=q: ours.find_matching_model(q), 5) for q in queries]
        per_theirs = [median_ms(lambda q=q: theirs.find_matching_model(q), 1)
                      for q in queries[:40]]
        med, med_theirs = statistics.median(per_ours), statistics.median(per_theirs)
        print(f"match, {N_MODELS} models, {label}: ours {med:.4f} ms median, plugin "
              f"{med_theirs:.3f} ms median, same answer on {agree}/{len(queries)} queries")
        verdict = "PASS" if med <= 1.0 else "MISS"
        print(f"{'match latency (' + label + ')':<34} ours {med:9.4f} ms  goal <= 1 ms "
              f"(absolute)  {verdict}")
        verdicts.append(verdict)
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--plugin-dir", help="an unpacked sendnn_inference package dir")
    parser.add_argument("--plugin-source", choices=("auto", "pip"), default="auto",
                        help="auto: the engine venv's copy when installed, else pip download")
    parser.add_argument("--skip-plan", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # both registries log per model; not what we time
    plugin_registry, plugin_config = import_plugin_registry(
        plugin_package_dir(args.plugin_dir, args.plugin_source))
    print(f"plugin registry: {plugin_registry.__file__}")
    verdicts = bench_load(args.reps, plugin_registry)
    if not args.skip_plan:
        verdicts += bench_plan(max(3, args.reps // 3))
    verdicts += bench_match(args.reps, plugin_registry, plugin_config)
    verdicts += bench_big_conf_dir(args.reps)
    print(f"summary: {verdicts.count('PASS')} PASS, {verdicts.count('MISS')} MISS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Bad input, cleanly: each case gets one message naming the key, the value, the valid
options and the fix; the CLI exits non-zero without a traceback; env and files unchanged.

Every case runs twice: in-process (the project's own error type, via pytest.raises) and as
a subprocess of the real console script (exit code, stderr, files under tmp_path).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from spyre_hydra import errors as E

CONF = Path(__file__).resolve().parents[1] / "conf"
GRANITE_TP4 = ["model=granite_8b", "device=tp4"]


@dataclass
class Case:
    id: str
    argv: list[str]
    error: type
    expect: list[str]                # regexes, all must be found in the message
    prog: str = "spyre-launch"       # or spyre-hydra
    setup: Callable | None = None    # (conf_dir, tmp) -> None; implies a conf copy
    env: dict = field(default_factory=dict)


def _write(rel: str, text: str):
    def setup(conf: Path, tmp: Path) -> None:
        path = conf / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return setup


def _append(rel: str, text: str):
    def setup(conf: Path, tmp: Path) -> None:
        path = conf / rel
        path.write_text(path.read_text() + text)
    return setup


def _ckpt(config: str | None):
    def setup(conf: Path, tmp: Path) -> None:
        (tmp / "ckpt").mkdir()
        if config is not None:
            (tmp / "ckpt" / "config.json").write_text(config)
    return setup


def _file(conf: Path, tmp: Path) -> None:
    (tmp / "afile").write_text("not a directory\n")


def _src(text: str):
    def setup(conf: Path, tmp: Path) -> None:
        (tmp / "src.yaml").write_text(text)
    return setup


LEGACY_A = ("models:\n  ibm/a:\n    architecture: {model_type: granite, hidden_size: 4096}\n"
            "    continuous_batching_configs:\n"
            "      - {tp_size: 1, max_model_len: 512, max_num_seqs: 4}\n")
MODEL = "defaults:\n  - family/base@_here_\n  - _self_\nhf_id: test/bad\nfamily: test\n"
ARCH = "architecture:\n  model_type: bert\n"
CB = "continuous_batching_configs:\n  - {tp_size: 1, max_model_len: 512, max_num_seqs: 4}\n"
BAD = "model/bad.yaml"
HF = "{tmp}/hf"

CASES = [
    # -- unknown groups and options -----------------------------------------------------
    Case("unknown-model", ["model=nope"], E.UnknownOptionError,
         [r"'model=nope': model has no option 'nope'", r"Valid options: .*granite_8b",
          r"Fix: pick one"]),
    Case("model-typo", ["model=granit_8b"], E.UnknownOptionError,
         [r"no option 'granit_8b'", r"Did you mean 'granite_8b'\?", r"Fix: model=granite_8b"]),
    Case("unknown-device", ["device=tp3"], E.UnknownOptionError,
         [r"device has no option 'tp3'", r"Valid options: tp1, tp2, tp4", r"Fix: device="]),
    Case("unknown-runtime", ["runtime=paged"], E.UnknownOptionError,
         [r"runtime has no option 'paged'", r"Valid options: cb, static", "Fix:"]),
    Case("unknown-backend", ["backend=gpu"], E.UnknownOptionError,
         [r"backend has no option 'gpu'", r"Valid options: auto, cpu, eager, sendnn", "Fix:"]),
    Case("unknown-version-option", ["sendnn_version=9.9"], E.UnknownOptionError,
         [r"sendnn_version has no option '9.9'", r"Valid options: 1.0.2, 1.0.3, auto, none",
          r"sendnn_version.version=9.9"]),
    Case("glob-matches-nothing", ["model=glob(zzz*)"], E.UnknownOptionError,
         [r"the glob matches no model option", r"Valid options: .*tiny_granite", "Fix:"]),
    Case("unparsable-command-line", ["runtime.warmup_shapes=[[64,8,1]"], E.UnknownOptionError,
         [r"cannot parse the command line", r"Fix: quote values"]),
    Case("unknown-key", ["nokey=1"], E.UnknownOptionError,
         [r"'nokey=1': unknown key 'nokey'", r"Valid top-level keys: model, device", "Fix:"]),
    Case("unknown-key-appended", ["+nokey=1"], E.UnknownOptionError,
         [r"'\+nokey=1': unknown key 'nokey'", r"Valid top-level keys: model, device", "Fix:"]),
    Case("unknown-nested-key", ["model.platfroms=[x86_64]"], E.UnknownOptionError,
         [r"Could not override 'model\.platfroms'", r"\+model\.platfroms=\[x86_64\]"]),
    Case("unknown-model-key", ["+model.platfroms=[x86_64]"], E.ConfigValidationError,
         [r"model\.platfroms .*unknown key", r"Did you mean 'platforms'\?", "Fix:"]),
    # -- wrong types, missing values ----------------------------------------------------
    Case("int-expected", ["runtime.max_model_len=abc"], E.ConfigValidationError,
         [r"runtime\.max_model_len .*'abc' is not a valid int", r"Fix: give an int"]),
    Case("bool-expected", ["strict=maybe"], E.ConfigValidationError,
         [r"strict .*'maybe' is not a valid bool", r"Fix: give a bool, e.g. strict=true"]),
    Case("port-not-int", ["serve.port=http"], E.ConfigValidationError,
         [r"serve\.port .*'http' is not a valid int", "Fix:"]),
    Case("list-expected", ["prompts=hello"], E.ConfigValidationError,
         [r"prompts .*'hello' must be a list", "Fix:"]),
    Case("null-required", ["model.hf_id=null"], E.ConfigValidationError,
         [r"model\.hf_id .*must be a str, not null", "Fix:"]),
    Case("missing-required", ["model.hf_id=???"], E.ConfigValidationError,
         [r"model\.hf_id .*required value is missing", r"Fix: set it"]),
    Case("unknown-mode", ["mode=train"], E.ConfigValidationError,
         [r"mode .*'train' is not a mode. Valid: plan, config, generate, serve", "Fix: mode="]),
    # -- negative or zero sizes ---------------------------------------------------------
    Case("negative-max-model-len", ["runtime.max_model_len=-5"], E.ConfigValidationError,
         [r"runtime\.max_model_len .*-5 must be a positive integer", "Fix:"]),
    Case("zero-max-num-seqs", ["runtime.max_num_seqs=0"], E.ConfigValidationError,
         [r"runtime\.max_num_seqs .*0 must be a positive integer", "Fix:"]),
    Case("zero-tp", ["device.tp_size=0"], E.ConfigValidationError,
         [r"device\.tp_size .*0 must be positive", "Fix:"]),
    Case("negative-port", ["serve.port=-1"], E.ConfigValidationError,
         [r"serve\.port .*-1 is not a TCP port \(1-65535\)", "Fix: serve.port=8000"]),
    Case("port-too-big", ["serve.port=70000"], E.ConfigValidationError,
         [r"serve\.port .*70000 is not a TCP port", "Fix:"]),
    Case("zero-max-tokens", ["max_tokens=0"], E.ConfigValidationError,
         [r"max_tokens .*0 must be a positive integer", "Fix: max_tokens=16"]),
    # -- warmup shapes ------------------------------------------------------------------
    Case("shape-wrong-length", ["runtime=static", "runtime.warmup_shapes=[[64,8]]"],
         E.ConfigValidationError,
         [r"runtime\.warmup_shapes\[0\] \(in command line 'runtime\.warmup_shapes=",
          r"\[64, 8\] must be 3 integers", "Fix:"]),
    Case("prompt-not-multiple-of-64", ["runtime=static", "runtime.warmup_shapes=[[100,8,1]]"],
         E.ConfigValidationError,
         [r"runtime\.warmup_shapes\[0\].*prompt_len 100 is not a multiple of 64",
          r"Fix: use 128 or 64"]),
    Case("shape-negative", ["runtime=static", "runtime.warmup_shapes=[[64,-1,1]]"],
         E.ConfigValidationError, [r"\[64, -1, 1\] needs prompt_len > 0, new_tokens >= 0",
                                   "Fix:"]),
    Case("shape-zero-batch", ["runtime=static", "runtime.warmup_shapes=[[64,8,0]]"],
         E.ConfigValidationError, [r"\[64, 8, 0\] needs .*batch_size > 0", "Fix:"]),
    Case("shapes-empty", ["runtime=static", "runtime.warmup_shapes=[]"],
         E.ConfigValidationError, [r"runtime\.warmup_shapes .*\[\] must be a non-empty list",
                                   r"Fix: runtime\.warmup_shapes=\[\[2048,1024,16\]\]"]),
    Case("shape-not-int", ["runtime=static", "runtime.warmup_shapes=[[64,8,x]]"],
         E.ConfigValidationError, [r"runtime\.warmup_shapes\[0\]\[2\] .*'x' is not a valid int",
                                   "Fix:"]),
    # -- unsupported tp / runtime -------------------------------------------------------
    Case("unsupported-tp", ["model=granite41_30b", "device=tp1"], E.ConfigValidationError,
         [r"runtime\.max_model_len .*no continuous-batching entry at tp1",
          r"cb tp4 max_model_len=32768", r"Fix: pick another device"]),
    Case("unsupported-cb-strict", [*GRANITE_TP4, "strict=true", "runtime.max_num_seqs=3"],
         E.UnsupportedRuntimeError,
         [r"granite_8b .*does not support tp4 with max_model_len=32768 max_num_seqs=3",
          r"Supported at tp4: cb tp4 max_model_len=32768 max_num_seqs=32", "Fix: choose"]),
    Case("unsupported-static-strict",
         [*GRANITE_TP4, "strict=true", "runtime=static", "runtime.warmup_shapes=[[64,8,1]]"],
         E.UnsupportedRuntimeError,
         [r"does not support tp4 with warmup_shapes=\[\[64, 8, 1\]\]",
          r"static tp4 shapes=\[\[6144, 2048, 1\]\]", "Fix:"]),
    Case("no-static-entry", ["model=granite41_30b", "device=tp4", "runtime=static"],
         E.ConfigValidationError,
         [r"runtime\.warmup_shapes .*has no default.*no static entry at tp4",
          r"Fix: runtime\.warmup_shapes="]),
    # -- versions -----------------------------------------------------------------------
    Case("malformed-version", [*GRANITE_TP4, "sendnn_version.version=abc"],
         E.ConfigValidationError,
         [r"sendnn_version\.version='abc' is not a PEP 440 version",
          r"Valid: a version such as 1\.0\.2", r"Fix: sendnn_version=1\.0\.3"]),
    Case("malformed-version-unused", ["model=tiny_granite", "sendnn_version.version=1.0.x"],
         E.ConfigValidationError,
         [r"sendnn_version\.version='1\.0\.x' is not a PEP 440 version", "Fix:"]),
    Case("overlapping-specifiers", ["model=bad", "device=tp4", "sendnn_version=1.0.2"],
         E.ConfigValidationError,
         [r"torch_sendnn 1\.0 matches both '>=1\.0' and '<2\.0'", r"model\.device_configs\.tp4",
          r"Fix: make the specifiers disjoint"],
         setup=_write(BAD, MODEL + ARCH + "continuous_batching_configs:\n  - {tp_size: 4, "
                      "max_model_len: 512, max_num_seqs: 4}\ndevice_configs:\n  tp4:\n    "
                      "num_gpu_blocks_override: {'>=1.0': 1, '<2.0': 2, default: 3}\n")),
    # -- strict mode conflicts ----------------------------------------------------------
    Case("env-conflict-strict", [*GRANITE_TP4, "strict=true"], E.ConfigConflictError,
         [r"FLEX_HDMA_P2PSIZE=1 ⚠ \(default: 268435456\)", r"Fix: unset the env var"],
         env={"FLEX_HDMA_P2PSIZE": "1"}),
    Case("env-conflict-strict-from-env", GRANITE_TP4, E.ConfigConflictError,
         [r"VLLM_DT_MAX_BATCH_TKV_LIMIT=7 ⚠ \(default: 131072\)",
          r"SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG=1"],
         env={"VLLM_DT_MAX_BATCH_TKV_LIMIT": "7", "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG": "1"}),
    Case("user-value-conflict-strict",
         [*GRANITE_TP4, "strict=true", "sendnn_version=1.0.3",
          "+engine_args.num_gpu_blocks_override=5"], E.ConfigConflictError,
         [r"num_gpu_blocks_override=5 ⚠ \(default: 8192\)", "Fix: .*drop the user value"]),
    # -- model_path / config.json -------------------------------------------------------
    Case("auto-without-path", ["model=auto"], E.UnknownOptionError,
         [r"model=auto needs model_path=DIR", r"Fix: add model_path="]),
    Case("auto-path-a-bool", ["model=auto", "model_path=true"], E.UnknownOptionError,
         [r"model_path=True is not a directory path \(the command line reads it as type bool\)",
          r"Fix: model_path=/path/to/checkpoint"]),
    Case("auto-path-a-number", ["model=auto", "model_path=17"], E.UnknownOptionError,
         [r"model_path=17 is not a directory path \(.* as type int\)", r"model_path='17'"]),
    Case("auto-path-missing", ["model=auto", "model_path={tmp}/nowhere"], E.UnknownOptionError,
         [r"model_path='.*nowhere' does not exist", "Fix:"]),
    Case("auto-no-config-json", ["model=auto", "model_path={tmp}/ckpt"], E.UnknownOptionError,
         [r"model_path='.*ckpt' has no config\.json", "Fix:"], setup=_ckpt(None)),
    Case("auto-corrupt-config-json", ["model=auto", "model_path={tmp}/ckpt"],
         E.UnknownOptionError, [r"ckpt/config\.json is not valid JSON", r"Fix: repair"],
         setup=_ckpt('{"model_type": "granite",')),
    Case("auto-config-without-model-type", ["model=auto", "model_path={tmp}/ckpt"],
         E.UnknownOptionError, [r"config\.json has no 'model_type' key", "Fix:"],
         setup=_ckpt('{"hidden_size": 4}')),
    Case("auto-config-not-a-mapping", ["model=auto", "model_path={tmp}/ckpt"],
         E.UnknownOptionError, [r"config\.json has no 'model_type' key", "Fix:"],
         setup=_ckpt("[1, 2]")),
    Case("auto-no-catalog-match", ["model=auto", "model_path={tmp}/ckpt"],
         E.UnknownOptionError, [r"no catalog pattern matches .*model_type='gpt2'",
                                r"Fix: pick model="], setup=_ckpt('{"model_type": "gpt2"}')),
    # -- output dir ---------------------------------------------------------------------
    Case("unwritable-run-dir", ["hydra.run.dir={tmp}/afile/run"], E.ConfigValidationError,
         [r"hydra\.run\.dir .*afile/run' cannot be created", "Fix:"], setup=_file),
    # -- the conf tree ------------------------------------------------------------------
    Case("malformed-yaml-launch", ["model=bad"], E.ConfigValidationError,
         [r"model/bad\.yaml:6:16: malformed YAML: mapping values are not allowed",
          r"Fix: fix the YAML syntax at that line"],
         setup=_write(BAD, MODEL + "architecture: a: b\n")),
    Case("malformed-yaml-device", ["device=tp9"], E.ConfigValidationError,
         [r"device/tp9\.yaml:2:11: malformed YAML", "Fix:"],
         setup=_write("device/tp9.yaml", "name: tp9\ntp_size: 4: 4\n")),
    Case("duplicate-yaml-key", ["model=roberta_large", "runtime=static"],
         E.ConfigValidationError,
         [r"model/roberta_large\.yaml:\d+:1: malformed YAML: duplicate key 'platforms'", "Fix:"],
         setup=_append("model/roberta_large.yaml", "platforms: [s390x]\n")),
    Case("malformed-yaml-list", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"model/bad\.yaml:6:16: malformed YAML", "Fix:"], prog="spyre-hydra",
         setup=_write(BAD, MODEL + "architecture: a: b\n")),
    Case("catalog-unknown-key", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"bad\.platfroms \(in .*bad\.yaml.*\): unknown key", r"Did you mean 'platforms'",
          "Fix:"], prog="spyre-hydra", setup=_write(BAD, MODEL + ARCH + CB + "platfroms: []\n")),
    Case("catalog-none-attribute", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"bad\.architecture\.hidden_size .*is None", r"Fix: remove the key"],
         prog="spyre-hydra", setup=_write(BAD, MODEL + ARCH + "  hidden_size: null\n" + CB)),
    Case("catalog-duplicate-cb", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"continuous_batching_configs\[1\] .*duplicates entry \[0\]", "Fix: remove one"],
         prog="spyre-hydra", setup=_write(BAD, MODEL + ARCH + CB + CB.splitlines()[1] + "\n")),
    Case("catalog-bad-specifier", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"key '<<1\.0\.3' is not a PEP 440 specifier set", r"Fix: rename the key"],
         prog="spyre-hydra", setup=_write(BAD, MODEL + ARCH + CB + "device_configs:\n  tp1:\n"
                                          "    num_gpu_blocks_override: {'<<1.0.3': 1}\n")),
    Case("catalog-unknown-device", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"device_configs\.tp3 .*no device option 'tp3'. Valid: tp1, tp2, tp4", "Fix:"],
         prog="spyre-hydra", setup=_write(BAD, MODEL + ARCH + CB + "device_configs:\n  tp3: "
                                          "{num_gpu_blocks_override: 8}\n")),
    Case("catalog-negative-tp", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"continuous_batching_configs\[0\]\.tp_size .*-1 must be a positive integer", "Fix:"],
         prog="spyre-hydra", setup=_write(BAD, MODEL + ARCH + "continuous_batching_configs:\n"
                                          "  - {tp_size: -1, max_model_len: 64, max_num_seqs: 1}"
                                          "\n")),
    Case("catalog-static-prompt-len", ["list", "--config-dir", "{conf}"],
         E.ConfigValidationError,
         [r"warmup_shapes\[0\] .*prompt_len 100 is not a multiple of 64", r"Fix: use 128"],
         prog="spyre-hydra", setup=_write(BAD, MODEL + ARCH + "static_batching_configs:\n"
                                          "  - {tp_size: 1, warmup_shapes: [[100, 0, 1]]}\n")),
    Case("catalog-no-runtime", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"bad \(in .*bad\.yaml.*\): has no runtime entry",
          r"Fix: add continuous_batching_configs"], prog="spyre-hydra",
         setup=_write(BAD, MODEL + ARCH)),
    Case("catalog-missing-hf-id", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"bad\.hf_id .*required value is missing", r"Fix: set it"], prog="spyre-hydra",
         setup=_write(BAD, MODEL.replace("hf_id: test/bad\n", "") + ARCH + CB)),
    Case("catalog-missing-base", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"bad\.yaml: defaults: no config 'model/family/nope'", "Fix: check the base"],
         prog="spyre-hydra", setup=_write(BAD, MODEL.replace("family/base", "family/nope")
                                          + ARCH + CB)),
    Case("catalog-duplicate-hf-id", ["list", "--config-dir", "{conf}"], E.ConfigValidationError,
         [r"'ibm-granite/granite-3\.3-8b-instruct' is also the hf_id of granite_8b",
          "Fix: give each model file its own hf_id"], prog="spyre-hydra",
         setup=_write("model/zz_copy.yaml", (CONF / "model" / "granite_8b.yaml").read_text())),
    # -- import-legacy ------------------------------------------------------------------
    Case("legacy-duplicate-model", ["import-legacy", "{tmp}/src.yaml", "--out", "{tmp}/out"],
         E.LegacyFormatError,
         [r"models\.ibm/a \(in .*src\.yaml:6\): duplicate key 'ibm/a' \(first at line 2\)",
          r"nothing was written", "Fix: remove or rename one"], prog="spyre-hydra",
         setup=_src(LEGACY_A + LEGACY_A.split("\n", 1)[1].replace("4096", "2048"))),
    Case("legacy-none-values", ["import-legacy", "{tmp}/src.yaml", "--out", "{tmp}/out"],
         E.LegacyFormatError,
         [r"models\.ibm/a\.architecture\.hidden_size .*is None", "Fix: remove the key",
          r"max_num_seqs .*None must be a positive integer"], prog="spyre-hydra",
         setup=_src(LEGACY_A.replace("4096", "null").replace("max_num_seqs: 4",
                                                             "max_num_seqs: null"))),
    Case("legacy-malformed-yaml", ["import-legacy", "{tmp}/src.yaml", "--out", "{tmp}/out"],
         E.LegacyFormatError, [r"src\.yaml:3:1: malformed YAML", "Fix:"], prog="spyre-hydra",
         setup=_src("models:\n  ibm/a: [1\n")),
    Case("legacy-unwritable-out", ["import-legacy", "{tmp}/src.yaml", "--out", "{tmp}/afile/out"],
         E.LegacyFormatError, [r"cannot write --out .*afile/out", "Fix: pass a directory you "
                                                                  "can write to"],
         prog="spyre-hydra", setup=lambda conf, tmp: (_file(conf, tmp), _src(LEGACY_A)(conf, tmp))),
    Case("legacy-out-not-empty", ["import-legacy", "{tmp}/src.yaml", "--out", "{tmp}/conf"],
         E.LegacyFormatError, [r"--out .*conf is not empty", "Fix: .*--force"],
         prog="spyre-hydra", setup=_src(LEGACY_A)),
    # -- check --------------------------------------------------------------------------
    Case("check-hf-configs-missing", ["check", "--hf-configs", "{tmp}/nowhere"],
         E.UnknownOptionError, [r"--hf-configs '.*nowhere' is not a directory", "Fix:"],
         prog="spyre-hydra"),
    Case("check-hf-config-corrupt", ["check", "--hf-configs", HF], E.UnknownOptionError,
         [r"hf/org/m/config\.json is not valid JSON", "Fix:"], prog="spyre-hydra",
         setup=lambda conf, tmp: (tmp / "hf/org/m").mkdir(parents=True) or (
             tmp / "hf/org/m/config.json").write_text("{")),
]


def _fill(argv, conf: Path, tmp: Path) -> list[str]:
    return [a.replace("{conf}", str(conf)).replace("{tmp}", str(tmp)) for a in argv]


def _prepare(case: Case, tmp: Path) -> tuple[list[str], Path | None]:
    conf = None
    if case.setup is not None:
        conf = tmp / "conf"
        shutil.copytree(CONF, conf)
        case.setup(conf, tmp)
    argv = _fill(case.argv, conf or CONF, tmp)
    if case.prog == "spyre-launch":  # mode=plan first, so that a case may override it
        argv = (["--config-dir", str(conf)] if conf else []) + ["mode=plan", *argv]
    return argv, conf


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _in_process(case: Case, argv: list[str]):
    """The library path behind each console script, raising instead of printing."""
    if case.prog == "spyre-hydra":
        import importlib

        from spyre_hydra.cli.main import build_parser

        args = build_parser().parse_args(argv)
        return importlib.import_module(args._module).run(args)
    from spyre_hydra.cli.explain import explain

    conf = None
    if argv[:1] == ["--config-dir"]:
        conf, argv = argv[1], argv[2:]
    return explain(argv, conf)


def test_at_least_40_distinct_cases():
    assert len({c.id for c in CASES}) == len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_in_process(case, tmp_path, monkeypatch):
    argv, _ = _prepare(case, tmp_path)
    for key in ("FLEX_HDMA_P2PSIZE", "FLEX_HDMA_COLLSIZE", "VLLM_DT_MAX_BATCH_TKV_LIMIT",
                "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    env_before, files_before = dict(os.environ), _snapshot(tmp_path)
    with pytest.raises(case.error, match=case.expect[0]) as info:
        _in_process(case, argv)
    assert isinstance(info.value, E.SpyreHydraError)
    for pattern in case.expect[1:]:
        assert re.search(pattern, str(info.value)), (pattern, str(info.value))
    assert dict(os.environ) == env_before
    assert _snapshot(tmp_path) == files_before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_from_cli(case, tmp_path, h):
    argv, _ = _prepare(case, tmp_path)
    work = tmp_path / "cwd"
    work.mkdir()
    before = _snapshot(tmp_path)
    out = h.run_cli(argv, cwd=work, prog=case.prog, **case.env)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    assert out.stdout == ""
    for pattern in case.expect:
        assert re.search(pattern, out.stderr), (pattern, out.stderr)
    assert _snapshot(tmp_path) == before


# -- platforms (item 3 of the issue) ------------------------------------------------------
def test_platform_refused_names_platforms_and_fix(monkeypatch):
    import platform

    from spyre_hydra.cli.explain import explain

    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    with pytest.raises(E.PlatformError, match=r"'ibm-granite/granite-3\.3-8b-instruct' is "
                       r"validated on x86_64, ppc64le, s390x, not on this machine's 'riscv64' "
                       r"\(model\.platforms\)\. Fix: allow_unsupported_platform=true"):
        explain(["model=granite_8b", "mode=plan"])


def test_platform_override_allows_with_a_warning(monkeypatch):
    import platform

    from spyre_hydra.cli.explain import explain

    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    result = explain(["model=granite_8b", "allow_unsupported_platform=true", "mode=plan"])
    assert result["plan"]["model"] == "ibm-granite/granite-3.3-8b-instruct"
    assert any("not on this machine's 'riscv64'" in w and "Running anyway" in w
               for w in result["warnings"])


def test_platform_listed_or_empty_is_accepted(monkeypatch):
    import platform

    from spyre_hydra.plan.runtime import check_platform

    monkeypatch.setattr(platform, "machine", lambda: "s390x")
    assert check_platform({"model": {"hf_id": "x", "platforms": ["s390x"]}}) is None
    assert check_platform({"model": {"hf_id": "x", "platforms": []}}) is None
    with pytest.raises(E.PlatformError, match="not on this machine's 's390x'"):
        check_platform({"model": {"hf_id": "x", "platforms": ["x86_64"]}})


def test_platform_refused_from_cli(tmp_path, h):
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    path = conf / "model" / "roberta_large.yaml"
    path.write_text(path.read_text().replace("platforms: [x86_64, ppc64le]",
                                             "platforms: [no_such_arch]"))
    out = h.run_cli(["--config-dir", str(conf), "model=roberta_large", "runtime=static",
                     "mode=plan"], cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "validated on no_such_arch" in out.stderr and "allow_unsupported_platform=true" in \
        out.stderr
    ok = h.run_cli(["--config-dir", str(conf), "model=roberta_large", "runtime=static",
                    "allow_unsupported_platform=true", "mode=plan"], cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "warning: " in ok.stderr and "Running anyway" in ok.stderr
    assert json.loads(ok.stdout)["model"] == "sentence-transformers/all-roberta-large-v1"

"""Property-based tests: over command-line overrides and HF configs, the only outcomes are a
valid plan (or match) or one of the project's own error types, never another exception."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from spyre_hydra.conftree.roots import group_options, shipped_conf_dir
from spyre_hydra.errors import SpyreHydraError

ROOTS = [shipped_conf_dir()]
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
MODEL_ENV = ("VLLM_DT_MAX_BATCH_TKV_LIMIT", "FLEX_HDMA_P2PSIZE", "FLEX_HDMA_COLLSIZE",
             "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG")

# Values as a user would type them: ints of any sign, words, versions, brackets, nonsense.
atoms = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["true", "false", "null", "none", "???", "", "abc", "1.0.2", "1.0.3",
                     "1.0", "v1", "1.0.x", "<1.0.3", "[]", "[[]]", "{}", "'quoted'"]),
    st.text(alphabet="abcxyz0123456789._-", min_size=1, max_size=8),
)
shape = st.lists(st.one_of(st.integers(-128, 4096), st.sampled_from(["x", "64"])),
                 min_size=0, max_size=4).map(lambda xs: "[" + ",".join(map(str, xs)) + "]")
shapes = st.lists(shape, min_size=0, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]")


def _group(name: str):
    options = group_options(name, ROOTS)
    valid = st.sampled_from(options)
    return st.one_of(valid, st.sampled_from(options[::-1]), atoms).map(  # mostly valid
        lambda v: f"{name}={v}")


keyed = st.one_of(
    *(atoms.map(lambda v, k=k: f"{k}={v}") for k in (
        "runtime.max_model_len", "runtime.max_num_seqs", "device.tp_size", "serve.port",
        "strict", "sendnn_version.version", "mode", "max_tokens", "allow_unsupported_platform",
        "model.priority", "model.hf_id", "runtime.name", "model.platforms",
        "model.device_configs.tp4.num_gpu_blocks_override")),
    shapes.map(lambda v: f"runtime.warmup_shapes={v}"),
    atoms.map(lambda v: f"+engine_args.max_num_seqs={v}"),
    atoms.map(lambda v: f"+engine_args.num_gpu_blocks_override={v}"),
    st.sampled_from(["nokey=1", "+nokey=1", "~model.platforms", "model.architecture=null"]),
)
override_lists = st.lists(
    st.one_of(_group("model").filter(lambda o: o != "model=auto"), _group("device"),
              _group("runtime"), _group("sendnn_version"), _group("backend"), keyed),
    min_size=0, max_size=6)


@pytest.fixture
def quiet_env(monkeypatch):
    for key in MODEL_ENV:
        monkeypatch.delenv(key, raising=False)


@SETTINGS
@given(overrides=override_lists)
def test_overrides_give_a_plan_or_a_project_error(overrides, quiet_env):
    from spyre_hydra.cli.explain import explain

    before = dict(os.environ)
    try:
        result = explain([*overrides, "mode=plan"])
    except SpyreHydraError as error:
        assert str(error).strip()
    else:
        plan = result["plan"]
        assert plan["engine_args"]["tensor_parallel_size"] == plan["tp_size"] > 0
        assert plan["mode"] == "plan" and plan["runtime"] in ("cb", "static")
        assert all(isinstance(v, str) for v in plan["env"].values())
        assert {r["key"] for r in result["rows"]} >= {"model", "tp_size", "sendnn_version"}
        json.dumps(plan)  # the plan is plain data
    assert dict(os.environ) == before


# -- HF configs -------------------------------------------------------------------------
def _catalog_patterns():
    from spyre_hydra.catalog.registry import get_model_registry

    return [(p.model_type, dict(p.attributes)) for p in get_model_registry().matcher.patterns()]


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9),
                         st.floats(allow_nan=False), st.text(max_size=6))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


@st.composite
def hf_configs(draw):
    """A config near a catalog pattern: its values, some changed, dropped or retyped."""
    model_type, attrs = draw(st.sampled_from(_catalog_patterns()))
    config = {"model_type": draw(st.one_of(st.just(model_type), st.text(max_size=8),
                                           json_values))}
    for key, value in attrs.items():
        action = draw(st.sampled_from(["keep", "keep", "drop", "change"]))
        if action == "keep":
            config[key] = value
        elif action == "change":
            config[key] = draw(json_values)
    config.update(draw(st.dictionaries(st.text(min_size=1, max_size=8), json_values,
                                       max_size=3)))
    return config


@SETTINGS
@given(config=hf_configs())
def test_hf_configs_match_the_best_pattern_or_nothing(config):
    from spyre_hydra.catalog.matcher import ModelMatcher
    from spyre_hydra.catalog.registry import get_model_registry

    registry = get_model_registry()
    for hf in (config, SimpleNamespace(**{k: v for k, v in config.items()
                                          if isinstance(k, str) and k.isidentifier()})):
        name = registry.find_matching_model(SimpleNamespace(hf_config=hf))
        matches = registry.matcher.all_matches(hf)
        if name is None:
            assert matches == []
            continue
        assert name in registry.list_models()
        assert matches[0].name == name
        assert ModelMatcher.matches(hf, matches[0])
        assert min(p.rank for p in matches) == matches[0].rank


@SETTINGS
@given(config=st.one_of(hf_configs(), json_values))
def test_model_auto_gives_a_plan_or_a_project_error(config, tmp_path_factory, quiet_env):
    from spyre_hydra.cli.explain import explain

    ckpt = tmp_path_factory.mktemp("ckpt")
    (ckpt / "config.json").write_text(json.dumps(config))
    try:
        result = explain(["model=auto", f"model_path={ckpt}", "mode=plan"])
    except SpyreHydraError as error:
        assert str(error).strip()
    else:
        assert result["plan"]["engine_args"]["model"] == str(ckpt.resolve())


@SETTINGS
@given(raw=st.binary(max_size=64))
def test_config_json_bytes_parse_or_raise_a_project_error(raw, tmp_path_factory):
    from spyre_hydra.io.hfconfig import read_hf_config

    ckpt = tmp_path_factory.mktemp("raw")
    (ckpt / "config.json").write_bytes(raw)
    try:
        data = read_hf_config(ckpt)
    except SpyreHydraError:
        return
    assert isinstance(data, dict) and "model_type" in data


@SETTINGS
@given(value=st.one_of(st.integers(-5, 10**6), json_values,
                       st.dictionaries(st.sampled_from(["<1.0.3", ">=1.0.3", "default", "~=1",
                                                        "<<1", "==1.0.*", "junk"]),
                                       st.one_of(st.integers(-2, 9000), json_scalars),
                                       max_size=3)),
       version=st.one_of(st.sampled_from(["1.0.2", "1.0.3", "none", "not installed", "0.0.0",
                                          "2.0", None]), st.text(max_size=6)))
def test_block_selection_gives_an_int_none_or_a_version_error(value, version):
    from spyre_hydra.conftree.versions import select_block_override
    from spyre_hydra.errors import VersionError

    try:
        blocks = select_block_override(value, version)
    except VersionError:
        return
    assume(not isinstance(value, bool))
    assert blocks is None or isinstance(blocks, int)


# -- the matcher's value index ----------------------------------------------------------
small_value = st.sampled_from([1, 2, 3, "a", True, 2.0])
pattern_attrs = st.dictionaries(
    st.sampled_from(["k1", "k2", "k3", "k4", "k5"]),
    st.one_of(small_value, st.dictionaries(st.sampled_from(["q", "r"]), small_value,
                                           min_size=1, max_size=2)), max_size=4)


@SETTINGS
@given(archs=st.lists(st.tuples(st.sampled_from(["t1", "t2"]), pattern_attrs,
                                st.integers(-1, 1)), min_size=10, max_size=80),
       data=st.data())
def test_indexed_matcher_equals_a_linear_scan(archs, data):
    """The value index only skips patterns that cannot match: same answers as a scan."""
    from spyre_hydra.catalog import matcher as m
    from spyre_hydra.catalog.matcher import ModelMatcher, Pattern

    patterns = [Pattern(f"m{i}", t, attrs, prio, i) for i, (t, attrs, prio) in enumerate(archs)]
    leaf, m.LEAF_SIZE = m.LEAF_SIZE, 2  # deep trees from few patterns
    try:
        matcher = ModelMatcher(patterns)
    finally:
        m.LEAF_SIZE = leaf
    noise = st.dictionaries(st.sampled_from(["k1", "k2", "k3", "k4", "k5"]),
                            st.one_of(small_value, st.lists(small_value, max_size=2)), max_size=2)
    for _ in range(20):  # configs built from a pattern's values (so they match), plus noise
        t, attrs, _prio = data.draw(st.sampled_from(archs))
        config = {"model_type": t, **attrs, **data.draw(noise)}
        scan = sorted((p for p in patterns if ModelMatcher.matches(config, p)),
                      key=lambda p: p.rank)
        assert matcher.all_matches(config) == scan
        assert matcher.best(config) == (scan[0] if scan else None)

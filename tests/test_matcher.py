"""Matching rules on hand-made patterns (equality, subset of dict values, specificity, ties),
then the shipped catalog against the real HF configs in tests/data/hf_configs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from spyre_hydra.catalog.matcher import ModelMatcher, Pattern, field_count
from spyre_hydra.catalog.registry import get_model_registry
from spyre_hydra.io.hfconfig import as_object


def P(name, model_type="granite", priority=0, order=0, **attrs):
    return Pattern(name, model_type, attrs, priority, order)


@pytest.fixture(params=["object", "dict"])
def make(request):
    """Build an HF config as an attribute object (transformers) or as a plain dict."""
    def build(**attrs):
        if request.param == "dict":
            return dict(attrs)
        return SimpleNamespace(**{k: SimpleNamespace(**v) if isinstance(v, dict) else v
                                  for k, v in attrs.items()})
    return build


def test_all_attributes_must_be_equal(make):
    matcher = ModelMatcher([P("a", hidden_size=4096, vocab_size=49159)])
    assert matcher.best(make(model_type="granite", hidden_size=4096, vocab_size=49159)).name == "a"
    assert matcher.best(make(model_type="granite", hidden_size=4096, vocab_size=1)) is None
    assert matcher.best(make(model_type="llama", hidden_size=4096, vocab_size=49159)) is None


def test_missing_attribute_is_no_match(make):
    matcher = ModelMatcher([P("a", hidden_size=4096, vocab_size=49159)])
    assert matcher.best(make(model_type="granite", hidden_size=4096)) is None


def test_none_value_in_config_does_not_match_missing_pattern_value(make):
    matcher = ModelMatcher([P("a", sliding_window=4096)])
    assert matcher.best(make(model_type="granite", sliding_window=None)) is None


def test_extra_attributes_are_ignored(make):
    matcher = ModelMatcher([P("a", hidden_size=4096)])
    hf = make(model_type="granite", hidden_size=4096, rope_theta=1e6, torch_dtype="bfloat16")
    assert matcher.best(hf).name == "a"


def test_dict_pattern_matches_by_subset_one_level(make):
    matcher = ModelMatcher([P("v", "llava_next", text_config={"hidden_size": 2048},
                              vision_config={"num_hidden_layers": 27})])
    hit = make(model_type="llava_next",
               text_config={"hidden_size": 2048, "vocab_size": 49156},
               vision_config={"num_hidden_layers": 27, "image_size": 384})
    assert matcher.best(hit).name == "v"
    miss = make(model_type="llava_next", text_config={"hidden_size": 4096},
                vision_config={"num_hidden_layers": 27})
    assert matcher.best(miss) is None
    no_sub_key = make(model_type="llava_next", text_config={"vocab_size": 49156},
                      vision_config={"num_hidden_layers": 27})
    assert matcher.best(no_sub_key) is None
    no_sub_config = make(model_type="llava_next", text_config={"hidden_size": 2048})
    assert matcher.best(no_sub_config) is None


def test_quantization_config_subset():
    matcher = ModelMatcher([P("fp8", quantization_config={"format": "float-quantized"})])
    hf = SimpleNamespace(model_type="granite",
                         quantization_config={"format": "float-quantized",
                                              "quant_method": "compressed-tensors",
                                              "config_groups": {"group_0": {"num_bits": 8}}})
    assert matcher.best(hf).name == "fp8"


def test_field_count_counts_dict_keys():
    assert field_count({"a": 1, "b": 2}) == 2
    assert field_count({"a": 1, "q": {"x": 1, "y": 2}}) == 4
    assert P("p", a=1, q={"x": 1}).field_count == 3


def test_more_specific_pattern_wins(make):
    wide = P("plain", order=0, hidden_size=4096)
    narrow = P("fp8", order=1, hidden_size=4096, quantization_config={"format": "f"})
    matcher = ModelMatcher([wide, narrow])
    assert matcher.best(make(model_type="granite", hidden_size=4096,
                             quantization_config={"format": "f"})).name == "fp8"
    assert matcher.best(make(model_type="granite", hidden_size=4096)).name == "plain"
    both = matcher.all_matches(make(model_type="granite", hidden_size=4096,
                                    quantization_config={"format": "f"}))
    assert [p.name for p in both] == ["fp8", "plain"]


def test_tie_goes_to_priority_then_order(make):
    hf = make(model_type="granite", hidden_size=4096)
    first, second = P("first", order=0, hidden_size=4096), P("second", order=1, hidden_size=4096)
    assert ModelMatcher([second, first]).best(hf).name == "first"
    preferred = P("second", priority=5, order=1, hidden_size=4096)
    assert ModelMatcher([first, preferred]).best(hf).name == "second"
    demoted = P("first", priority=-1, order=0, hidden_size=4096)
    assert ModelMatcher([demoted, second]).best(hf).name == "second"


def test_specificity_beats_priority(make):
    hf = make(model_type="granite", hidden_size=4096, vocab_size=1)
    matcher = ModelMatcher([P("wide", priority=100, hidden_size=4096),
                            P("narrow", order=1, hidden_size=4096, vocab_size=1)])
    assert matcher.best(hf).name == "narrow"


def test_model_type_only_pattern(make):
    matcher = ModelMatcher([P("any-llama", "llama")])
    assert matcher.best(make(model_type="llama", anything=1)).name == "any-llama"
    assert matcher.best(make(model_type="granite")) is None


def test_from_architecture():
    p = Pattern.from_architecture("x", {"model_type": "granite", "hidden_size": 1}, 3, 7)
    assert (p.model_type, dict(p.attributes), p.priority, p.order) == ("granite",
                                                                      {"hidden_size": 1}, 3, 7)


def test_diagnostics_tie_and_shadow():
    matcher = ModelMatcher([
        P("e5", "xlm-roberta", order=0, num_hidden_layers=24),
        P("e5-instruct", "xlm-roberta", priority=-1, order=1, num_hidden_layers=24),
        P("bge", "xlm-roberta", order=2, num_hidden_layers=24, max_position_embeddings=514),
        P("plain", order=3, hidden_size=1),
        P("fp8", order=4, hidden_size=1, quantization_config={"format": "f"}),
    ])
    notes = matcher.diagnostics()
    assert [n for n in notes if n.startswith("tie:")] == [
        "tie: e5 and e5-instruct have identical patterns; e5 wins (priority 0 vs -1, then "
        "catalog order). Give them distinguishing attributes or set priority."]
    shadows = sorted(n for n in notes if n.startswith("shadow:"))
    assert len(shadows) == 2
    assert shadows[0].startswith("shadow: bge refines e5 with {'max_position_embeddings': 514}")
    assert shadows[1].startswith("shadow: bge refines e5-instruct with")
    # fp8 refines plain only by a dict value: that is a deliberate specialisation, not a shadow.
    assert not any("fp8" in n for n in notes)


# -- the shipped catalog against real HF configs (tests/data/hf_configs) -------------------
# Worked out by hand from the patterns in conf/model with the rules tested above:
EXPECTED_MATCH = {
    "ibm-granite/granite-3.3-8b-instruct": "ibm-granite/granite-3.3-8b-instruct",
    # FP8 also satisfies granite_8b's pattern; quantization_config makes FP8's more specific.
    "ibm-granite/granite-3.3-8b-instruct-FP8": "ibm-granite/granite-3.3-8b-instruct-FP8",
    # granite4_8b and granite42_8b have identical patterns; 4.2 has priority -1.
    "ibm-granite/granite-4-8b-dense": "ibm-granite/granite-4-8b-dense",
    "ibm-granite/granite-4-8b-dense-hybrid": "ibm-granite/granite-4-8b-dense-hybrid",
    "ibm-granite/granite-embedding-125m-english": "ibm-granite/granite-embedding-125m-english",
    "ibm-granite/granite-embedding-278m-multilingual":
        "ibm-granite/granite-embedding-278m-multilingual",
    "sentence-transformers/all-roberta-large-v1": "sentence-transformers/all-roberta-large-v1",
    "BAAI/bge-reranker-large": "BAAI/bge-reranker-large",
    "BAAI/bge-reranker-v2-m3": "BAAI/bge-reranker-v2-m3",
    # The known shadow: e5's pattern {24 layers} is refined by bge's {24 layers, 514 positions}.
    "intfloat/multilingual-e5-large": "BAAI/bge-reranker-large",
    # 4 layers: granite_8b wants 40, tiny_granite wants 2.
    "ibm-ai-platform/micro-g3.3-8b-instruct-1b": None,
    # granite_swa_20b wants 44 layers and hidden_size 4096; this one has 4 and 128.
    "ibm-granite/tiny-granite-swa": None,
    # llama3_8b wants 32 layers and vocab 128256; this one has 2 and 32000. The tiny Llama
    # (conf/model/tiny_llama.yaml) is built with exactly its 2 layers / 128 hidden / 2 heads.
    # So the rules give tiny_llama, not None.
    "meta-llama/llama-dummy": "spyre-hydra/tiny-llama",
}


@pytest.fixture
def registry():
    return get_model_registry()


def test_checked_in_configs_cover_the_expectations(h):
    assert set(h.all_hf_configs()) == set(EXPECTED_MATCH)


@pytest.mark.parametrize("hf_id", sorted(EXPECTED_MATCH))
def test_find_matching_model_on_real_configs(registry, h, hf_id):
    cfg = h.hf_config(hf_id)
    assert registry.find_matching_model(SimpleNamespace(hf_config=as_object(cfg))) == \
        EXPECTED_MATCH[hf_id]


def test_find_matching_model_without_hf_config(registry):
    assert registry.find_matching_model(SimpleNamespace(hf_config=None)) is None
    assert registry.find_matching_model(SimpleNamespace()) is None


def test_missing_attribute_means_no_catalog_match(registry, h):
    cfg = h.hf_config("ibm-granite/granite-3.3-8b-instruct")
    del cfg["vocab_size"]
    assert registry.find_matching_model(SimpleNamespace(hf_config=as_object(cfg))) is None


def test_extra_attributes_are_ignored_by_the_catalog(registry, h):
    cfg = h.hf_config("ibm-granite/granite-3.3-8b-instruct")
    cfg.update(unrelated_setting=1, another={"nested": True})
    assert registry.find_matching_model(SimpleNamespace(hf_config=as_object(cfg))) == \
        "ibm-granite/granite-3.3-8b-instruct"


def _vision_config(as_objects: bool):
    text = {"num_hidden_layers": 40, "max_position_embeddings": 131072, "hidden_size": 2048,
            "vocab_size": 49156, "num_key_value_heads": 8, "num_attention_heads": 32,
            "rope_theta": 10000}  # an extra sub-attribute, ignored
    vision = {"num_hidden_layers": 27, "hidden_size": 1152, "num_attention_heads": 16,
              "image_size": 384}
    if as_objects:
        text, vision = SimpleNamespace(**text), SimpleNamespace(**vision)
    return SimpleNamespace(model_type="llava_next", text_config=text, vision_config=vision,
                           image_token_index=49155)


@pytest.mark.parametrize("as_objects", [True, False], ids=["objects", "dicts"])
def test_sub_config_patterns_match_by_subset(registry, as_objects):
    hf = _vision_config(as_objects)
    assert registry.find_matching_model(SimpleNamespace(hf_config=hf)) == \
        "ibm-granite/granite-vision-3.3-2b"
    text = hf.text_config
    if as_objects:
        text.hidden_size = 4096
    else:
        text["hidden_size"] = 4096
    assert registry.find_matching_model(SimpleNamespace(hf_config=hf)) is None


def test_diagnostics_report_ties_and_the_e5_shadow(registry):
    notes = registry.diagnostics
    ties = {tuple(n.split(": ", 1)[1].split(" have identical")[0].split(" and "))
            for n in notes if n.startswith("tie:")}
    assert ties == {
        ("intfloat/multilingual-e5-large", "intfloat/multilingual-e5-large-instruct"),
        ("ibm-granite/granite-4.1-8b-fp8", "ibm-granite/granite-4.2-8b-fp8"),
        ("ibm-granite/granite-4-8b-dense", "ibm-granite/granite-4.2-8b"),
    }
    assert any(n.startswith("shadow: BAAI/bge-reranker-large refines "
                            "intfloat/multilingual-e5-large with {'max_position_embeddings': "
                            "514}") for n in notes)


def test_check_shadows_with_real_configs(registry, h):
    configs = {hf_id: as_object(cfg) for hf_id, cfg in h.all_hf_configs().items()}
    assert registry.check_shadows(configs) == [
        "shadow: intfloat/multilingual-e5-large's own config.json is matched as "
        "BAAI/bge-reranker-large."]
    assert registry.check_shadows(h.all_hf_configs()) == registry.check_shadows(configs)

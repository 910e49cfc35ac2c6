"""Unit tests for issue 18 items 4-6: refusals instead of silent changes, bounds, and a
compose() that is thread-safe and leaves the caller's state alone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from spyre_hydra.catalog import loader as catalog
from spyre_hydra.catalog.matcher import ModelMatcher, Pattern, _refines


# -- the catalog's diagnostics: indexed, identical to the scan of every pair --------------
def _scan(bucket: list[Pattern]) -> list[str]:
    """The quadratic scan the index replaced (notes in the same words and order)."""
    notes = []
    for i, a in enumerate(bucket):
        for b in bucket[i + 1:]:
            if dict(a.attributes) == dict(b.attributes):
                notes.append(f"tie: {a.name} {b.name}")
                continue
            for wide, narrow in ((a, b), (b, a)):
                extra = _refines(wide, narrow)
                if extra:
                    notes.append(f"shadow: {wide.name} {narrow.name} {extra}")
    return notes


_VALUES = st.one_of(st.integers(0, 2), st.sampled_from(["a", "b"]), st.just([1, 2]),
                    st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 1),
                                    max_size=2))
_ATTRS = st.dictionaries(st.sampled_from(["h", "l", "q", "v"]), _VALUES, max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ATTRS, max_size=9))
def test_indexed_diagnostics_equal_the_scan_of_every_pair(attrs):
    bucket = [Pattern(f"m{i}", "granite", a, 0, i) for i, a in enumerate(attrs)]
    notes = ModelMatcher(bucket).diagnostics()
    ordered = sorted(bucket, key=lambda p: p.rank)  # the matcher's bucket order
    short = [n.split(";")[0].replace(" and ", " ").replace(" have identical patterns", "")
             .replace(" refines ", " ").replace(" with ", " ") for n in notes]
    assert short == _scan(ordered)


def test_diagnostics_of_5000_patterns_of_one_type_are_not_quadratic():
    # 12.5 million pairs took 40 s; the index visits only the pairs that contain each other
    bucket = [Pattern(f"m{i}", "granite", {"hidden_size": i, "heads": 2}, 0, i)
              for i in range(5000)]
    bucket.append(Pattern("wide", "granite", {"hidden_size": 7, "heads": 2, "l": 1}, 0, 5000))
    notes = ModelMatcher(bucket).diagnostics()
    assert notes == ["shadow: wide refines m7 with {'l': 1}; a m7 checkpoint whose config "
                     "has those values is matched as wide."]


# -- a conf dir that overlays the shipped catalog hits the cache --------------------------
def test_overlay_conf_dir_is_served_from_the_cache(tmp_path, fresh_cache, monkeypatch):
    model = tmp_path / "conf" / "model"
    model.mkdir(parents=True)
    (model / "mine.yaml").write_text(
        "defaults:\n  - family/base@_here_\n  - _self_\nhf_id: org/mine\nfamily: tiny\n"
        "architecture: {model_type: granite, hidden_size: 7}\n"
        "continuous_batching_configs:\n  - {tp_size: 1, max_model_len: 512, max_num_seqs: 4}\n")
    first = catalog.load_catalog(tmp_path / "conf")
    assert "mine" in first and "granite_8b" in first  # the overlay and the shipped models

    def rebuilt(_roots):
        raise AssertionError("a warm load rebuilt the catalog")

    monkeypatch.setattr(catalog, "load_entries", rebuilt)
    assert catalog.load_catalog(tmp_path / "conf") == first

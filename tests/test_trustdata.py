"""Unit tests for issue 18 items 4-6: refusals instead of silent changes, bounds, and a
compose() that is thread-safe and leaves the caller's state alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spyre_hydra.catalog import loader as catalog
from spyre_hydra.catalog.matcher import ModelMatcher, Pattern, _refines
from spyre_hydra.conftree.conffile import read_conf_file
from spyre_hydra.conftree.tree import ConfTree
from spyre_hydra.errors import ConfigValidationError


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
    first = catalog.load_catalog(ConfTree.at(tmp_path / "conf"))
    assert "mine" in first and "granite_8b" in first  # the overlay and the shipped models

    def rebuilt(_roots):
        raise AssertionError("a warm load rebuilt the catalog")

    monkeypatch.setattr(catalog, "load_entries", rebuilt)
    assert catalog.load_catalog(ConfTree.at(tmp_path / "conf")) == first


# -- YAML 1.1-only plain scalars ----------------------------------------------------------
REFUSED = ["NO", "no", "Yes", "ON", "off", "017", "+017", "00", "0b11", "1_000", "1:30",
           "1_0.5", "-1:30.5", "y: NO", "0o17", "-.5", ".5e3"]
KEPT = ["true", "True", "FALSE", "'NO'", '"017"', "0", "17", "-3", "0x1F", "1.5", ".inf", "0o8",
        "1e3", "1.5e3", "2024-01-01", "y", "n", "text"]


def _read(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text if text.startswith("y: ") else f"k: {text}\n")
    return read_conf_file(path)


@pytest.mark.parametrize("text", REFUSED)
def test_yaml11_only_scalars_are_refused_with_file_and_line(tmp_path, text):
    with pytest.raises(ConfigValidationError, match=r"x\.yaml:1:\d+: the unquoted value .* is "
                                                    r"read as .* by YAML 1\.1 .* Fix: "):
        _read(tmp_path, text)


@pytest.mark.parametrize("text,number", [("0o17", "15"), ("-.5", "-0.5"), ("+.25e1", "2.5")])
def test_numbers_only_yaml12_reads_are_refused_naming_both_readings(tmp_path, text, number):
    with pytest.raises(ConfigValidationError, match=rf"x\.yaml:1:4: the unquoted value "
                       rf"{re.escape(text)} is read as the text '{re.escape(text)}' by YAML "
                       rf"1\.1 .* but as {number} by YAML 1\.2; .* Fix: quote it"):
        _read(tmp_path, text)


@pytest.mark.parametrize("text", KEPT)
def test_scalars_both_yaml_versions_agree_on_are_read_as_omegaconf_reads_them(tmp_path, text):
    from omegaconf import OmegaConf

    assert _read(tmp_path, text) == OmegaConf.to_container(OmegaConf.load(tmp_path / "x.yaml"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+-._:eEoxbyYnN", min_size=1, max_size=6))
def test_conf_reader_reads_every_plain_number_as_omegaconf_or_refuses_it(text):
    import tempfile

    from omegaconf import OmegaConf

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.yaml"
        path.write_text(f"k: {text}\n")
        try:
            theirs = OmegaConf.to_container(OmegaConf.load(path))
        except Exception:  # noqa: BLE001 - not YAML OmegaConf reads: nothing to compare
            return
        try:
            ours = read_conf_file(path)
        except ConfigValidationError as error:
            assert "YAML 1.1" in str(error) or "malformed" in str(error)
            return
        assert ours == theirs


# -- sweep sizes are counted, never listed ------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.integers(-20, 20), st.integers(-20, 20), st.integers(-5, 5).filter(bool),
       st.booleans())
def test_axis_count_equals_hydras_list(start, stop, step, floats):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from spyre_hydra.sweep.points import _count

    args = f"{start},{stop},{step}" if not floats else f"{start / 4},{stop / 2},{step / 4}"
    override = OverridesParser.create().parse_overrides([f"x=range({args})"])[0]
    assert _count(override) == len(list(override.sweep_string_iterator()))


def test_zip_refusals_name_the_axis_and_the_fix():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from spyre_hydra.sweep.points import SweepDefinitionError, expand

    parser = OverridesParser.create()
    with pytest.raises(SweepDefinitionError, match=r"names device more than once.*"
                                                   r"Fix: sweep\.zip=\[device,max_tokens\]"):
        expand(["sweep.zip=[device,max_tokens,device]", "device=tp1,tp2", "max_tokens=1,2"],
               parser)
    assert len(expand(["max_tokens=range(1,5)", "device=tp1,tp2"], parser, 8)) == 8
    with pytest.raises(SweepDefinitionError, match=r"8 points .* over sweep\.max_points=7"):
        expand(["max_tokens=range(1,5)", "device=tp1,tp2"], parser, 7)


@pytest.mark.parametrize("value", [0, -1, True, "10", 2.5])
def test_max_points_must_be_a_positive_integer(value):
    from spyre_hydra.sweep.points import SweepDefinitionError, max_points

    with pytest.raises(SweepDefinitionError, match=r"sweep\.max_points=.* Fix: "):
        max_points({"sweep": {"max_points": value}})
    assert max_points({"sweep": {}}) == 100_000


def test_preflight_ticker_speaks_every_interval_and_not_at_the_end(monkeypatch):
    from spyre_hydra.sweep import preflight

    now = [0.0]
    monkeypatch.setattr(preflight, "PROGRESS_EVERY_S", 5.0)
    ticker = preflight.Ticker(10, clock=lambda: now[0])
    lines = []
    for done in range(1, 11):
        now[0] += 2.0
        lines.append(ticker.tick(done))
    assert [x for x in lines if x] == ["pre-flight: 3/10 points checked",
                                       "pre-flight: 6/10 points checked",
                                       "pre-flight: 9/10 points checked"]


# -- the writer's stale temp files --------------------------------------------------------
def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_provably_stale_temp_files_are_removed(tmp_path):
    import os
    import time

    from spyre_hydra.io.staletemp import STALE_S, _host, clean_stale

    host, dead = _host(), _dead_pid()
    other = "0" * 6 if host != "0" * 6 else "1" * 6
    names = {
        f".a.yaml.{host}-{dead}-0123456789ab.tmp": False,       # its writer is gone
        f".b.yaml.{host}-1-0123456789ab.tmp": True,             # pid 1 lives
        f".c.yaml.{host}-{os.getpid()}-0123456789ab.tmp": True,  # this process's own
        f".d.yaml.{other}-{dead}-0123456789ab.tmp": True,       # another host, recent
        f".e.yaml.{other}-{dead}-0123456789ab.tmp": False,      # another host, old
        ".f.yaml.0123456789ab.tmp": False,                       # an older writer's, old
        ".g.yaml.0123456789ab.tmp": True,                        # an older writer's, recent
        ".h.yaml.tmp": True,                                     # not the writer's pattern
    }
    for name in names:
        (tmp_path / name).write_text("x")
    old = time.time() - STALE_S - 10
    for name in (n for n in names if n.startswith((".e.", ".f."))):
        os.utime(tmp_path / name, (old, old))
    (tmp_path / f".i.yaml.{host}-{dead}-0123456789ab.tmp").symlink_to(tmp_path / ".h.yaml.tmp")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        clean_stale(fd)
    finally:
        os.close(fd)
    kept = {n for n, keep in names.items() if keep} | {f".i.yaml.{host}-{dead}-0123456789ab.tmp"}
    assert {p.name for p in tmp_path.iterdir()} == kept


# -- values whose meaning is a string, a number or a flag ---------------------------------
@pytest.mark.parametrize("tree, bad", [
    ({"backend": {"env": {"A": "x", "B": 3, "C": True, "D": None}}}, ["backend.env.C",
                                                                      "backend.env.D"]),
    ({"bench": {"num_prompts": True, "request_rate": "inf", "server_timeout_s": 1.5,
                "prompt_len": None, "new_tokens": 2.5}}, ["bench.num_prompts",
                                                          "bench.new_tokens"]),
    ({"sweep": {"resume": 1, "skip_unsupported": False, "repeats": 2, "explore": True}},
     ["sweep.resume"]),
])
def test_meant_problems(tree, bad):
    from spyre_hydra.catalog.validate import meant_problems

    assert [p.key for p in meant_problems(tree)] == bad


def test_a_stream_is_reopened_as_a_stream_and_replaced_only_with_force(tmp_path):
    from spyre_hydra.io.writer import OutputError, open_stream, write_text

    log = tmp_path / "server.log"
    with open_stream(log) as handle:
        handle.write("first run\n")
    with open_stream(log, append=True) as handle:  # a resumed job's log: no force needed
        handle.write("second run\n")
    assert log.read_text() == "first run\nsecond run\n"
    with pytest.raises(OutputError, match=r"server\.log: spyre-hydra wrote it as a log.*"
                                          r"Fix: pass --force"):
        write_text(log, "replaced\n")
    write_text(log, "replaced\n", force=True)
    assert log.read_text() == "replaced\n"

"""Issue 18 items 4-6 as a hostile user meets them: silent data changes are refusals naming
the value and the fix, sweeps and override lists are bounded, and compose() is thread-safe
and leaves the caller's Hydra, env, cwd and logging alone."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hostile_helpers import changed, clean_error, run_tool, snapshot

import spyre_hydra
from spyre_hydra.errors import ConfigValidationError, SpyreHydraError
from spyre_hydra.io.manifest import MANIFEST
from spyre_hydra.io.writer import write_text

MODEL = """defaults:
  - family/base@_here_
  - _self_
hf_id: org/mine
family: tiny
path: builtin:tiny_granite
architecture: {{model_type: granite, hidden_size: 7}}
continuous_batching_configs:
  - {{tp_size: 1, max_model_len: 512, max_num_seqs: 4}}
device_configs:
  tp1: {{env_vars: {{MY_FLAG: {value}}}}}
"""


def user_conf(tmp_path: Path, value: str) -> Path:
    conf = tmp_path / "conf"
    (conf / "model").mkdir(parents=True, exist_ok=True)
    (conf / "model" / "mine.yaml").write_text(MODEL.format(value=value))
    return conf


# -- item 4: silent changes become refusals --------------------------------------------------
def test_zip_with_a_repeated_axis_is_refused(h, tmp_path):
    proc = h.run_cli(["-m", "sweep.zip=[device,max_tokens,device]", "device=tp1,tp2",
                      "max_tokens=1,2", "mode=plan", "backend=eager"], tmp_path)
    clean_error(proc.returncode, proc.stderr, "sweep.zip=[device,max_tokens,device]",
                "device more than once", "Fix: sweep.zip=[device,max_tokens]")
    assert proc.stdout == ""  # no plan printed: no point ran


@pytest.mark.parametrize("value, reading, fix", [
    ("NO", "false", "quote it ('NO')"),
    ("017", "15", "write 15 or 17"),
    ("1:30", "90", "quote it ('1:30')"),
    ("1_000", "1000", "quote it ('1_000')"),
    ("off", "false", "quote it ('off')"),
])
def test_yaml11_only_scalar_in_a_conf_value_is_refused(h, tmp_path, value, reading, fix):
    conf = user_conf(tmp_path, value)
    proc = h.run_cli(["--config-dir", str(conf), "model=mine", "mode=plan", "backend=eager"],
                     tmp_path)
    clean_error(proc.returncode, proc.stderr, f"{conf}/model/mine.yaml:11:",
                f"unquoted value {value} is read as {reading} by YAML 1.1", fix)
    with pytest.raises(ConfigValidationError, match=f"read as {reading} by YAML 1.1"):
        spyre_hydra.compose(["model=mine", "backend=eager"], conf_dir=conf)


@pytest.mark.parametrize("value", ["'NO'", '"017"', "'1:30'"])
def test_quoted_scalar_keeps_its_text(tmp_path, value):
    plan = spyre_hydra.compose(["model=mine", "backend=eager"], conf_dir=user_conf(tmp_path, value))
    assert plan.to_dict()["env"]["MY_FLAG"] == value.strip("'\"")


def test_yaml11_only_scalar_in_a_legacy_catalog_is_refused(tmp_path, capsys):
    src = tmp_path / "model_configs.yaml"
    src.write_text("models:\n  org/good:\n    architecture: {model_type: granite, vocab_size: "
                   "017}\n    continuous_batching_configs:\n      - {tp_size: 1, max_model_len: "
                   "2048, max_num_seqs: 4, device_config: {env_vars: {X: yes}}}\n")
    code, _, err = run_tool(capsys, "import-legacy", src, "--out", tmp_path / "conf")
    clean_error(code, err, "017", "read as 15", "yes", "read as true", f"{src}:3", f"{src}:5")
    assert not (tmp_path / "conf").exists()


@pytest.mark.parametrize("override, shown", [
    ("+backend.env.X=true", "backend.env.X"),
    ("bench.num_prompts=true", "bench.num_prompts"),
    ("bench.request_rate=false", "bench.request_rate"),
    ("sweep.repeats=true", "sweep.repeats"),
    ("sweep.skip_unsupported=1", "sweep.skip_unsupported"),
])
def test_bool_where_a_string_or_number_is_meant_is_refused(override, shown):
    with pytest.raises(ConfigValidationError, match=rf"{shown} \(in command line .*\): "
                                                    r"(True|False|1) is not (a|an|true) "):
        spyre_hydra.compose([override, "backend=eager"])


def test_bool_env_value_in_a_model_file_is_refused(tmp_path):
    with pytest.raises(ConfigValidationError, match=r"env_vars\.MY_FLAG .*True must be a "
                                                    r"string or number\. Fix: MY_FLAG: "):
        spyre_hydra.compose(["model=mine", "backend=eager"], conf_dir=user_conf(tmp_path, "true"))


def test_export_legacy_over_the_manifest_name_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_tool(capsys, "export-legacy", "--out", MANIFEST)
    clean_error(code, err, MANIFEST, "choose another file name")
    assert out == "" and not err.startswith("wrote")
    assert list(tmp_path.iterdir()) == []


def test_a_stream_entry_never_lets_an_export_replace_a_file_without_force(tmp_path, capsys):
    mine = tmp_path / "mine.yaml"
    mine.write_text("the user's own file\n")
    (tmp_path / MANIFEST).write_text(json.dumps({"writer": "spyre_hydra",
                                                 "files": {"mine.yaml": "stream"}}))
    before = snapshot(tmp_path)
    code, _, err = run_tool(capsys, "export-legacy", "--out", mine)
    clean_error(code, err, "mine.yaml", "--force")
    assert changed(before, snapshot(tmp_path)) == []
    code, _, _ = run_tool(capsys, "export-legacy", "--out", mine, "--force")
    assert code == 0 and "models:" in mine.read_text()


@pytest.mark.engine  # builds the tiny checkpoint (engine venv)
def test_a_trailing_carriage_return_in_an_env_value_is_refused(tmp_path, capsys):
    conf = user_conf(tmp_path, '"on\\r"')
    out = tmp_path / "bundle"
    code, _, err = run_tool(capsys, "export-serve", "model=mine", "backend=eager",
                            "--config-dir", conf, "--out", out)
    clean_error(code, err, "MY_FLAG", "carriage return", "docker --env-file")
    assert not out.exists()


def test_temp_files_of_a_killed_writer_are_cleaned_by_the_next_write(tmp_path):
    code = ("import os, signal, sys\nfrom spyre_hydra.io.writer import _temp\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY)\n_temp(fd, 'a.yaml', b'half', 0o644)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)],
                          env={**os.environ, "PYTHONPATH": str(Path(spyre_hydra.__file__)
                                                               .parents[1])})
    assert proc.returncode == -signal.SIGKILL
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".a.yaml.") and left[0].endswith(".tmp")
    (tmp_path / ".notes.tmp").write_text("not the writer's\n")  # another pattern: kept
    write_text(tmp_path / "b.yaml", "b: 1\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".notes.tmp", MANIFEST, "b.yaml"]


def test_resume_refuses_when_a_rerun_could_not_write_its_result(h, tmp_path):
    out = tmp_path / "sweep"
    args = ["-m", "max_tokens=1,2", "mode=plan", "backend=eager", f"hydra.sweep.dir={out}"]
    assert h.run_cli(args, tmp_path).returncode == 0
    result = out / "1" / "result.json"
    record = json.loads(result.read_text())
    record.update(outcome="failed", note="my notes")
    result.write_text(json.dumps(record))
    before = snapshot(out)
    proc = h.run_cli([*args, "sweep.resume=true"], tmp_path)
    clean_error(proc.returncode, proc.stderr, str(result), "edited since", "nothing was run",
                "mv result.json", f"sweep.resume=true hydra.sweep.dir={out}")
    assert "--force" not in proc.stderr  # spyre-launch has none
    assert changed(before, snapshot(out)) == []


def test_an_output_named_like_a_temp_file_is_refused(tmp_path, capsys):
    name = ".model_configs.yaml.abcdef-1-0123456789ab.tmp"
    code, _, err = run_tool(capsys, "export-legacy", "--out", tmp_path / name)
    clean_error(code, err, name, "pattern of the writer's temp files")
    assert list(tmp_path.iterdir()) == []


def test_resume_refuses_when_the_summary_was_edited(h, tmp_path):
    out = tmp_path / "sweep"
    args = ["-m", "max_tokens=1,2", "mode=plan", "backend=eager", f"hydra.sweep.dir={out}"]
    assert h.run_cli(args, tmp_path).returncode == 0
    (out / "summary.md").write_text("my own notes\n")
    proc = h.run_cli([*args, "sweep.resume=true"], tmp_path)
    clean_error(proc.returncode, proc.stderr, str(out / "summary.md"), "edited since")
    assert (out / "summary.md").read_text() == "my own notes\n"


def test_a_yes_in_the_catalog_marker_is_refused(tmp_path, capsys):
    conf = user_conf(tmp_path, '"1"')
    (conf / "spyre_hydra_catalog.yaml").write_text("replaces_shipped: yes\n")
    code, _, err = run_tool(capsys, "list", "--config-dir", conf)
    clean_error(code, err, "spyre_hydra_catalog.yaml:1:", "unquoted value yes is read as true",
                "write true")


def test_compose_keeps_the_callers_global_hydra(tmp_path):
    from hydra import compose
    from hydra.core.global_hydra import GlobalHydra

    from spyre_hydra.conftree.hydra_adapter import initialize_conf_dir

    (tmp_path / "app.yaml").write_text("greeting: hello\n")
    with initialize_conf_dir(str(tmp_path)):
        holder = GlobalHydra.instance()
        hydra = holder.hydra
        spyre_hydra.compose(["backend=eager"])
        assert GlobalHydra.instance() is holder and holder.hydra is hydra
        assert compose("app").greeting == "hello"  # the caller's own Hydra still composes


# -- item 5: bounds ---------------------------------------------------------------------------
def test_a_ten_million_value_range_is_refused_by_the_point_bound(h, tmp_path):
    proc = h.run_cli(["-m", "max_tokens=range(1,10000000)", "mode=plan", "backend=eager"],
                     tmp_path)  # the runner's 120 s timeout: listing the values took minutes
    clean_error(proc.returncode, proc.stderr, "9,999,999 points", "max_tokens: 9,999,999 values",
                "sweep.max_points=100000", "sweep.max_points=<N>")


def test_a_product_over_the_bound_is_refused_and_the_bound_can_be_raised(h, tmp_path):
    base = ["-m", "max_tokens=1,2", "device=tp1,tp2", "mode=plan", "backend=eager"]
    proc = h.run_cli([*base, "sweep.max_points=3"], tmp_path)
    clean_error(proc.returncode, proc.stderr, "4 points", "over sweep.max_points=3")
    proc = h.run_cli([*base, "sweep.max_points=4"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 4


def test_a_million_overrides_are_refused_before_hydra_parses_them():
    with pytest.raises(SpyreHydraError, match=r"1,000,000 overrides given; at most 1,000 .* "
                                              r"Fix: put the settings in a conf file"):
        spyre_hydra.compose(["max_tokens=1"] * 10**6)


def test_an_override_of_a_megabyte_is_refused_before_hydra_parses_it():
    values = ",".join(str(i) for i in range(200_000))  # Hydra parses ~4,000 values a second
    with pytest.raises(SpyreHydraError, match=r"the override 'max_tokens=0,1,2.*'\.\.\. is "
                                              r"1,\d{3},\d{3} characters long; at most 100,000"):
        spyre_hydra.compose([f"max_tokens={values}"])


def test_a_long_preflight_says_how_far_it_got(h, tmp_path):
    code = ("import sys\nimport spyre_hydra.sweep.preflight as p\np.PROGRESS_EVERY_S = 0\n"
            "from spyre_hydra.cli.launch import main\nsys.argv = ['spyre-launch', *sys.argv[1:]]\n"
            "main()\n")
    proc = subprocess.run([sys.executable, "-c", code, "-m", "max_tokens=1,2,3", "mode=plan",
                           "backend=eager"], cwd=tmp_path, env=h.clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "pre-flight:" in line]
    assert lines == ["spyre-launch: pre-flight: 1/3 points checked",
                     "spyre-launch: pre-flight: 2/3 points checked"]


# -- item 6: compose() from threads -----------------------------------------------------------
def _state():
    loggers = {name: (lg.level, tuple(lg.handlers), lg.propagate, lg.disabled)
               for name, lg in logging.root.manager.loggerDict.items()
               if isinstance(lg, logging.Logger)}
    return (dict(os.environ), os.getcwd(), logging.root.level, tuple(logging.root.handlers),
            loggers)


def test_compose_from_8_threads(tmp_path):
    from hydra.core.global_hydra import GlobalHydra

    spyre_hydra.compose(["backend=eager"])  # imports and caches first: not the caller's state
    before, holder = _state(), GlobalHydra.instance()
    plans, errors = {}, []

    def work(i: int) -> None:
        try:
            plans[i] = spyre_hydra.compose([f"max_tokens={i + 1}", f"device=tp{1 + i % 2}",
                                            "backend=eager"], conf_dir=tmp_path if i % 3 == 0
                                           else None)
        except Exception as error:  # noqa: BLE001 - collected, asserted below
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {i: (p.to_dict()["tp_size"], p.to_dict()["provenance"]["overrides"][0])
            for i, p in plans.items()} == {i: (1 + i % 2, f"max_tokens={i + 1}")
                                           for i in range(8)}
    after = _state()
    assert after[:4] == before[:4]
    assert {k: after[4][k] for k in before[4]} == before[4]  # new loggers only from imports
    assert GlobalHydra.instance() is holder and not holder.is_initialized()

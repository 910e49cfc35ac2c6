"""Issue 18 items 3 and 7 and its messages: bundles without the host's env, exports kept out
of the package and conf search paths, the plugin's overrides parse, sweep-report on damaged
results, terminal escapes, CSV formulas, output devices, concurrent exports, API argument
types, hf_id and serve.host forms."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hostile_helpers import changed, clean_error, run_tool, snapshot

import spyre_hydra
from spyre_hydra.conftree.arguments import ArgumentTypeError
from spyre_hydra.conftree.roots import shipped_conf_dir
from spyre_hydra.deploy.bundle import _write_bundle
from spyre_hydra.errors import ConfigValidationError, UnknownOptionError
from spyre_hydra.io.literal import split_words
from spyre_hydra.io.sanitize import csv_cell, printable

PACKAGE = Path(spyre_hydra.__file__).resolve().parent
SECRET_MODEL = """\
defaults:
  - family/granite_33_8b@_here_
  - _self_
hf_id: my-org/secret-granite
architecture:
  vocab_size: 49201
device_configs:
  tp4:
    env_vars:
      TOKEN: ${oc.env:MY_HOST_SECRET}
"""


# ---- item 3: bundles compose against an empty environment --------------------------------

def test_host_env_in_a_model_file_is_refused(tmp_path, capsys, monkeypatch):
    conf = tmp_path / "conf"
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "secret.yaml").write_text(SECRET_MODEL)
    monkeypatch.setenv("MY_HOST_SECRET", "hunter2")
    out = tmp_path / "bundle"
    code, stdout, err = run_tool(capsys, "export-serve", "--config-dir", conf, "model=secret",
                                 "device=tp4", "sendnn_version=1.0.3", "--out", out)
    clean_error(code, err, "model.device_configs.tp4.env_vars.TOKEN",
                "${oc.env:MY_HOST_SECRET}", "composed against an empty one")
    assert "hunter2" not in stdout + err and not out.exists()


def test_host_env_in_an_override_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MY_HOST_SECRET", "hunter2")
    code, _, err = run_tool(capsys, "export-serve", "model=tiny_granite", "backend=eager",
                            "serve.host=${oc.env:MY_HOST_SECRET,0.0.0.0}", "--out",
                            tmp_path / "b")
    clean_error(code, err, "serve.host", "reads this host's environment")
    assert not (tmp_path / "b").exists()


def test_escaped_env_text_is_data_not_a_read(tmp_path):
    from omegaconf import OmegaConf

    from spyre_hydra.deploy.hostenv import host_env_reads

    cfg = OmegaConf.create({"a": "\\${oc.env:X}", "b": "${oc.env:Y}", "hydra": {"c": "${oc.env:Z}"}})
    assert host_env_reads(cfg) == [("b", "${oc.env:Y}")]


@pytest.mark.parametrize("where", ["package", "package_conf", "shipped_conf_model", "plugin"])
def test_export_serve_refuses_targets_inside_the_install(capsys, where):
    import hydra_plugins.spyre_sweeper as plugin

    out = {"package": PACKAGE / "deploy_out", "package_conf": PACKAGE / "conf",
           "shipped_conf_model": shipped_conf_dir() / "model",
           "plugin": Path(plugin.__path__[0]) / "b"}[where]
    before = sorted(p.name for p in out.parent.iterdir())
    code, _, err = run_tool(capsys, "export-serve", "model=tiny_granite", "backend=eager",
                            "--out", out)
    clean_error(code, err, f"--out {out}", "it is inside")
    assert sorted(p.name for p in out.parent.iterdir()) == before


def test_export_legacy_refuses_a_conf_search_path(tmp_path, capsys):
    conf = tmp_path / "conf"
    (conf / "model").mkdir(parents=True)
    before = snapshot(tmp_path)
    for out in (conf / "model" / "x.yaml", conf / "x.yaml"):
        code, _, err = run_tool(capsys, "export-legacy", "--config-dir", conf, "--out", out)
        clean_error(code, err, "the conf search path of --config-dir")
    code, _, err = run_tool(capsys, "export-legacy", "--out", shipped_conf_dir() / "model" / "x.yaml")
    clean_error(code, err, "spyre_hydra's shipped conf tree")
    assert not (shipped_conf_dir() / "model" / "x.yaml").exists()
    assert changed(before, snapshot(tmp_path)) == []


# ---- item 7: the vLLM plugin's SPYRE_HYDRA_OVERRIDES -------------------------------------

@pytest.mark.parametrize("value", ["model=tiny_granite 'x", 'model="a', "model=a \\"])
def test_unsplittable_overrides_name_the_variable(value):
    with pytest.raises(UnknownOptionError, match=r"^SPYRE_HYDRA_OVERRIDES=.*: cannot be split "
                                                 r"into overrides \(no .*\)\..* Fix: close the"):
        split_words(value, "SPYRE_HYDRA_OVERRIDES")
    assert split_words("model=a 'prompts=[x y]'", "V") == ["model=a", "prompts=[x y]"]


def test_plugin_register_stops_with_one_paragraph(h):
    code = "import spyre_hydra.deploy.vllm_plugin as p; p.register()"
    env = {k: v for k, v in h.clean_env().items() if not k.startswith("SPYRE_HYDRA_")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**env, "SPYRE_HYDRA_OVERRIDES": "model=tiny_granite 'x"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "SPYRE_HYDRA_OVERRIDES=\"model=tiny_granite 'x\"" in proc.stderr and "Fix:" in proc.stderr


@pytest.mark.slow
@pytest.mark.engine
def test_vllm_server_with_unsplittable_overrides_exits_2(h):
    import importlib.util

    if importlib.util.find_spec("vllm") is None:  # not imported here: it sets env vars
        pytest.skip("needs vllm (the engine venv)")
    env = {k: v for k, v in h.clean_env().items() if not k.startswith("SPYRE_HYDRA_")}
    proc = subprocess.run([sys.executable, "-m", "vllm.entrypoints.openai.api_server",
                           "--model", "nowhere"], capture_output=True, text=True, timeout=300,
                          env={**env, "SPYRE_HYDRA_OVERRIDES": "model=tiny_granite 'x"})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "cannot be split into overrides" in proc.stderr


# ---- item 7: sweep-report on damaged results, escapes, CSV ------------------------------

def _sweep(tmp_path, **record) -> Path:
    sweep = tmp_path / "sweep"
    base = {"job": {"num": 0, "overrides": ["model=tiny_granite", "device=tp1"]},
            "outcome": "ok", "error": None,
            "plan": {"option": "tiny_granite", "tp_size": 1, "runtime": "cb",
                     "warmup_shapes": [], "engine_args": {"max_model_len": 512,
                                                          "max_num_seqs": 4}}}
    for key, value in record.items():
        target = base["plan"] if key in ("option", "tp_size", "warmup_shapes") else (
            base["job"] if key in ("num", "overrides") else base)
        target[key] = value
    (sweep / "0").mkdir(parents=True)
    (sweep / "0" / "result.json").write_text(json.dumps(base))
    return sweep


DAMAGE = {"plan_is_list": {"plan": [1, 2]}, "outcome_is_dict": {"outcome": {"a": 1}},
          "error_is_dict": {"error": {"a": 1}}, "num_is_text": {"num": "x"},
          "overrides_is_int": {"overrides": 5}, "shape_of_two": {"warmup_shapes": [[64, 8]]},
          "shapes_text": {"warmup_shapes": "abc"}, "tp_missing": {"tp_size": None},
          "timings_text": {"timings": {"engine_start_s": "abc"}},
          "bench_list": {"bench": {"workload": [1]}},
          "timing_inf": {"timings": {"total_s": math.inf}}}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_sweep_report_on_damaged_result_is_a_failed_row(tmp_path, capsys, damage):
    sweep = _sweep(tmp_path, **DAMAGE[damage])
    code, out, err = run_tool(capsys, "sweep-report", sweep, "--no-plot")
    assert code == 0, err
    rows = list(csv.DictReader((sweep / "summary.csv").open()))
    assert [(r["job"], r["outcome"]) for r in rows] == [("0", "failed")]
    assert rows[0]["error"].startswith(f"damaged result.json in {sweep / '0'}: ")
    assert "1 failed" in out


def test_sweep_report_strips_terminal_escapes(tmp_path, capsys):
    sweep = _sweep(tmp_path, outcome="failed", option="tiny\x1b[31m_granite",
                   error="boom\x1b]0;pwned\x07\x1b[2J\x9b1m\u202eevil")
    code, out, err = run_tool(capsys, "sweep-report", sweep, "--no-plot")
    assert code == 0, err
    for text in (out, (sweep / "summary.md").read_text(), (sweep / "summary.csv").read_text()):
        assert not set(text) & {"\x1b", "\x07", "\x9b", "\u202e"}
    assert "boomevil" in out and "tiny_granite" in out


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_summary_csv_neutralises_formulas(tmp_path, capsys, cell):
    sweep = _sweep(tmp_path, outcome="failed", option=cell, error=cell)
    assert run_tool(capsys, "sweep-report", sweep, "--no-plot")[0] == 0
    (row,) = csv.DictReader((sweep / "summary.csv").open())
    assert row["model"].startswith("'")
    assert row["error"].startswith("'") or cell.strip() == row["error"]  # error is stripped
    assert not row["error"].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert row["job"] == "0"  # numbers stay numbers


def test_printable_and_csv_cell():
    assert printable("a\x1b[1;31mb\x1b[0m\nc\td\x00") == "ab\nc\td"
    assert csv_cell(-5) == -5 and csv_cell("-5") == "'-5" and csv_cell("ok") == "ok"


# ---- messages: output devices, concurrent exports ------------------------------------------

def test_dev_full_names_standard_output(h):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*h.launch_cmd("spyre-hydra"), "list"], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=h.clean_env(), timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "standard output (/dev/full): cannot write: No space left on device" in proc.stderr
    assert "a path" not in proc.stderr


@pytest.mark.engine  # builds the tiny checkpoint (engine venv)
def test_complete_bundle_with_stdout_full_is_exit_1_and_says_so(tmp_path, h):
    out = tmp_path / "b"
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*h.launch_cmd("spyre-hydra"), "export-serve", "model=tiny_granite", "backend=eager",
                               "--out", str(out)], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=h.clean_env(), timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "files were written (7, the last" in proc.stderr
    assert (out / "bundle.json").is_file() and (out / "serve.sh").is_file()


@pytest.mark.parametrize("prog,args", [
    ("spyre-hydra", ["explain", "model=granite_8b", "device=tp4", "backend=eager",
                     "--format", "json"]),
    ("spyre-hydra", ["list", "--format", "json"]),
    ("spyre-hydra", ["list", "--format", "markdown"]),
    ("spyre-launch", ["model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "mode=plan"]),
])
def test_ascii_locale_names_the_encoding_of_machine_output(h, prog, args):
    # JSON (and the README's markdown) is data: a glyph stdout cannot hold is not rewritten
    proc = subprocess.run([*h.launch_cmd(prog), *args], capture_output=True, text=True,
                          timeout=120, env=h.clean_env(PYTHONIOENCODING="ascii"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "standard output (a pipe): its encoding 'ascii' cannot hold" in proc.stderr
    assert "PYTHONIOENCODING=utf-8" in proc.stderr and "a file" not in proc.stderr


@pytest.mark.parametrize("args,shown", [
    (["list"], "tp4 blocks: <1.0.3->2080, else 8192; 3 env vars"),
    (["explain", "model=granite_8b", "device=tp4", "sendnn_version=1.0.2", "backend=eager"],
     "specifier '<1.0.3' matched -> 2080 (of <1.0.3->2080, default->8192)"),
])
def test_ascii_locale_gets_text_for_a_person_in_ascii(h, args, shown):
    proc = subprocess.run([*h.launch_cmd("spyre-hydra"), *args], capture_output=True,
                          text=True, timeout=120, env=h.clean_env(PYTHONIOENCODING="ascii"))
    assert proc.returncode == 0, proc.stderr
    assert shown in proc.stdout and proc.stdout.isascii()
    utf8 = subprocess.run([*h.launch_cmd("spyre-hydra"), *args], capture_output=True,
                          text=True, timeout=120, env=h.clean_env(PYTHONIOENCODING="utf-8"))
    assert shown.replace("->", "\u2192") in utf8.stdout  # a UTF-8 stdout keeps the glyphs


def test_check_report_under_an_ascii_stdout_gets_ascii_glyphs(monkeypatch):
    import io

    import spyre_hydra.cli.check as check
    from spyre_hydra.cli.main import main

    monkeypatch.setattr(check, "profile_warnings", lambda registry: ["1.0.2 \u2192 1.0.3 \u2713"])
    raw = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(raw, encoding="ascii"))
    assert main(["check"]) == 0
    sys.stdout.flush()
    assert "  warning: 1.0.2 -> 1.0.3 ok\n" in raw.getvalue().decode("ascii")


def test_readable_keeps_what_the_encoding_holds_and_escapes_the_unknown():
    from spyre_hydra.io.output import readable

    assert readable("a\u2192b \u2713 caf\u00e9", "utf-8") == "a\u2192b \u2713 caf\u00e9"
    assert readable("a\u2192b \u2713 caf\u00e9", "ascii") == "a->b ok caf\\xe9"
    assert readable("caf\u00e9 \u2192", "latin-1") == "caf\u00e9 ->"


def test_concurrent_exports_to_one_dir_never_refuse_each_other(tmp_path):
    out, errors = tmp_path / "b", []

    def export(i):
        for n in range(25):
            files = {f"f{k}.txt": f"{i} {n} {k}\n" * 50 for k in range(6)}
            if i % 2:
                files.pop("f5.txt")  # one bundle has a file the other prunes
            try:
                _write_bundle(out, files)
            except Exception as exc:  # noqa: BLE001 - collected, asserted below
                errors.append(str(exc))

    threads = [threading.Thread(target=export, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = {p.name for p in out.iterdir()}
    assert names - {".spyre_hydra_manifest.json"} in ({f"f{k}.txt" for k in range(6)},
                                                       {f"f{k}.txt" for k in range(5)})


# ---- messages: Python API argument types, hf_id and serve.host -------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: spyre_hydra.compose("model=granite_8b"), r"overrides is one str, not a list"),
    (lambda: spyre_hydra.compose(5), r"overrides must be a list of strings, not int"),
    (lambda: spyre_hydra.compose(["model=granite_8b", None]), r"overrides\[1\] is None"),
    (lambda: spyre_hydra.compose([], conf_dir=5), r"conf_dir must be a path .* not int"),
    (lambda: spyre_hydra.compose([], environ=["A"]), r"environ must be a mapping"),
    (lambda: spyre_hydra.compose([], environ={"A": 1}), r"environ\['A'\] = 1"),
    (lambda: spyre_hydra.check_point(7), r"not int"),
    (lambda: spyre_hydra.compose_launch(5), r"compose_launch\(overrides=5\)"),
    (lambda: spyre_hydra.get_model_registry(conf_dir=["x"]), r"get_model_registry\(conf_dir"),
])
def test_wrong_argument_types_are_named(call, match):
    with pytest.raises(ArgumentTypeError, match=match + ".*Fix: ") as caught:
        call()
    assert isinstance(caught.value, TypeError)  # `except TypeError` still catches it


@pytest.mark.parametrize("key, value", [("serve.host", ""), ("serve.host", ".."),
                                        ("serve.host", "my host"), ("serve.host", "a..b"),
                                        ("model.hf_id", ""), ("model.hf_id", ".."),
                                        ("model.hf_id", "ibm granite/x"),
                                        ("model.hf_id", "../etc/x")])
def test_bad_hf_id_and_host_are_refused(key, value):
    with pytest.raises(ConfigValidationError, match=rf"{key}.*{value!r} is not a .*Fix: "):
        spyre_hydra.compose(["model=tiny_granite", "backend=eager", f"{key}='{value}'"])


@pytest.mark.parametrize("key, value", [("serve.host", "0.0.0.0"), ("serve.host", "::1"),
                                        ("serve.host", "node-1.example.com"),
                                        ("model.hf_id", "my-org/my_model.v2")])
def test_good_hf_id_and_host_pass(key, value):
    plan = spyre_hydra.compose(["model=tiny_granite", "backend=eager", f"{key}='{value}'"])
    assert plan.option == "tiny_granite"


def test_an_empty_conf_dir_is_refused_not_read_as_the_cwd(tmp_path, monkeypatch):
    from spyre_hydra.conftree.arguments import ArgumentTypeError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ArgumentTypeError, match=r"compose\(conf_dir=''\): conf_dir is empty, "
                                                r"which would read the current directory"):
        spyre_hydra.compose(["model=tiny_granite"], conf_dir="")


@pytest.mark.parametrize("data,what", [(5, "is int, not a mapping"), (None, "is NoneType"),
                                       ({"model": "m"}, "lacks option, tp_size, ")])
def test_launchplan_from_dict_of_a_wrong_value_is_a_named_error(data, what):
    from spyre_hydra.conftree.arguments import ArgumentTypeError

    with pytest.raises(ArgumentTypeError, match=rf"LaunchPlan\.from_dict\(.*\): the plan {what}"):
        spyre_hydra.LaunchPlan.from_dict(data)
    plan = spyre_hydra.compose(["model=tiny_granite", "mode=plan"], environ={})
    assert spyre_hydra.LaunchPlan.from_dict(plan.to_dict()) == plan


@pytest.mark.parametrize("argv", [["--config-dir", ""], ["--config-dir="]])
def test_spyre_launch_refuses_an_empty_config_dir(argv, tmp_path, monkeypatch, capsys):
    from spyre_hydra.cli.launch import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main([*argv, "model=tiny_granite", "mode=plan"])
    assert caught.value.code == 2
    assert "--config-dir '' is empty. Fix: pass a conf tree" in capsys.readouterr().err


#: every spyre-hydra subcommand with --config-dir, with the other arguments it requires
CONFIG_DIR_COMMANDS = {
    "list": [], "check": [], "explain": ["model=tiny_granite"],
    "export-legacy": ["--out", "x.yaml"], "export-serve": ["--out", "x"],
    "tune": ["--slo", "ttft_p99_ms<=500", "--from", "sw"],
}


def test_the_config_dir_commands_are_all_listed():
    from spyre_hydra.cli.main import build_parser

    subs = build_parser()._subparsers._group_actions[0].choices
    assert {name for name, sub in subs.items()
            if any(a.dest == "config_dir" for a in sub._actions)} == set(CONFIG_DIR_COMMANDS)


@pytest.mark.parametrize("command", sorted(CONFIG_DIR_COMMANDS))
@pytest.mark.parametrize("flag", [["--config-dir", ""], ["--config-dir="]])
def test_spyre_hydra_names_the_flag_for_an_empty_config_dir(command, flag, tmp_path,
                                                            monkeypatch, capsys):
    from spyre_hydra.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main([command, *flag, *CONFIG_DIR_COMMANDS[command]]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"spyre-hydra {command}: error: --config-dir '' is empty. Fix: pass "
                          "a conf tree such as the output of `spyre-hydra import-legacy`, or "
                          "leave the flag out."), err
    assert "conf_dir" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []

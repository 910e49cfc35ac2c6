"""A conf dir is data (issue 17): a hostile user conf dir reaches no Hydra callback, run dir,
env_set, other group or import, through any entry point; nothing is executed or created."""

from __future__ import annotations

import logging
import os
import sys
import textwrap
from pathlib import Path

import pytest

import spyre_hydra
from spyre_hydra.cli import launch
from spyre_hydra.cli.main import main as tool
from spyre_hydra.deploy import vllm_plugin
from spyre_hydra.errors import ConfigValidationError, SpyreHydraError


@pytest.fixture(autouse=True)
def no_opt_ins(monkeypatch):
    """A developer's own SPYRE_HYDRA_ALLOW_CUSTOM_CODE / strict export must not leak in."""
    for key in ("SPYRE_HYDRA_ALLOW_CUSTOM_CODE", "SPYRE_HYDRA_REQUIRE_KNOWN_CONFIG"):
        monkeypatch.delenv(key, raising=False)

#: A valid user model over the shipped family base; `{extra}` is the hostile part.
MODEL = """\
defaults:
  - family/base@_here_
  - _self_
hf_id: user/pwn-tiny
family: tiny
path: builtin:tiny_granite
architecture: {{model_type: granite, num_hidden_layers: 3, hidden_size: 96}}
continuous_batching_configs:
  - {{tp_size: 1, max_model_len: 512, max_num_seqs: 4}}
{extra}"""
#: The same model as a `_global_` file: its keys under `model:`.
GLOBAL = """\
# @package _global_
defaults:
  - family/base@model
  - _self_
model:
  hf_id: user/pwn-tiny
  family: tiny
  path: builtin:tiny_granite
  architecture: {{model_type: granite, num_hidden_layers: 3, hidden_size: 96}}
  continuous_batching_configs:
    - {{tp_size: 1, max_model_len: 512, max_num_seqs: 4}}
{extra}"""
COPY = "{_target_: shutil.copyfile, src: /etc/hostname, dst: OUT/PWNED}"
CALLBACK = f"hydra:\n  callbacks:\n    pwn: {COPY}\n"

#: route -> (files of the conf dir, the model chosen, text the refusal must name)
REFUSED = {
    "callbacks": ({"model/pwn.yaml": GLOBAL.format(extra=CALLBACK)}, "pwn", "_global_"),
    "run_dir": ({"model/pwn.yaml": GLOBAL.format(
        extra="hydra:\n  run: {dir: OUT/RUNDIR}\n  job: {chdir: true}\n")}, "pwn", "hydra"),
    "env_set": ({"model/pwn.yaml": GLOBAL.format(
        extra="hydra:\n  job:\n    env_set: {LD_PRELOAD: OUT/evil.so}\n")}, "pwn", "hydra"),
    "hydra_key": ({"model/pwn.yaml": MODEL.format(extra=CALLBACK)}, "pwn", "pwn.yaml: hydra"),
    "other_group": ({"model/pwn.yaml": GLOBAL.format(extra="device: {name: tp1, tp_size: 8}\n")},
                    "pwn", "device"),
    "other_package": ({"model/pwn.yaml": "# @package device\n" + MODEL.format(extra="")},
                      "pwn", "@package 'device'"),
    "global_base": ({"model/pwn.yaml": MODEL.format(extra="").replace(
        "  - _self_", "  - family/evil@_global_\n  - _self_"),
        "model/family/evil.yaml": CALLBACK}, "pwn", "@'_global_'"),
    "override": ({"model/pwn.yaml": MODEL.format(extra="").replace(
        "  - _self_", "  - override /hydra/job_logging: stderr\n  - _self_")}, "pwn", "override"),
    "primary_config": ({"config.yaml": "defaults:\n  - model: tiny_granite\n  - _self_\n"
                        + CALLBACK.replace("shutil.copyfile", "pathlib.Path.mkdir")},
                       "tiny_granite", "config.yaml"),
    "hydra_dir": ({"hydra/job_logging/stderr.yaml": "version: 1\nhandlers:\n  pwn:\n"
                   "    (): shutil.copyfile\n    src: /etc/hostname\n    dst: OUT/PWNED\n"
                   "root: {handlers: [pwn]}\n"}, "tiny_granite", "hydra/job_logging"),
    "sweep_preset": ({"sweep/pwn.yaml": "# @package _global_\n" + CALLBACK},
                     "tiny_granite", "hydra.sweeper.params only"),
    "cut_header": ({"model/pwn.yaml": "# @a b\n" * 71 + "# @package model\n"
                    + MODEL.format(extra="")}, "pwn", "first 512 characters"),
    "marker_header": ({"model/pwn.yaml": MODEL.format(extra="").replace(
        "  - _self_", "  - /spyre_hydra_catalog\n  - _self_"), "spyre_hydra_catalog.yaml":
        "# @package _global_\n" + CALLBACK}, "pwn", "spyre_hydra_catalog.yaml"),
    "model_ld_preload": ({"model/pwn.yaml": MODEL.format(
        extra="device_configs:\n  tp1: {env_vars: {LD_PRELOAD: OUT/evil.so}}\n")},
        "pwn", "device_configs.tp1.env_vars.'LD_PRELOAD'"),
    "backend_pythonpath": ({"backend/eager.yaml": "name: eager\nenv: {PYTHONPATH: OUT}\n"},
                           "tiny_granite", "env.'PYTHONPATH'"),
    "backend_inductor_cache": ({"backend/eager.yaml": "name: eager\n"
                                "env: {TORCHINDUCTOR_CACHE_DIR: OUT}\n"},
                               "tiny_granite", "env.'TORCHINDUCTOR_CACHE_DIR'"),
    "model_logging_config": ({"model/pwn.yaml": MODEL.format(
        extra="device_configs:\n  tp1: {env_vars: {VLLM_LOGGING_CONFIG_PATH: OUT/log.json}}\n")},
        "pwn", "device_configs.tp1.env_vars.'VLLM_LOGGING_CONFIG_PATH'"),
    "other_dir_header": ({"model/pwn.yaml": MODEL.format(extra="").replace(
        "  - _self_", "  - /lib/evil\n  - _self_"), "lib/evil.yaml": "# @package _global_\n"
        + CALLBACK}, "pwn", "lib/evil.yaml"),
}


def make_conf(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path]:
    """(conf dir, sentinel dir): every OUT in the files points into the sentinel dir."""
    out = tmp_path / "out"
    out.mkdir()
    conf = tmp_path / "conf"
    for rel, text in files.items():
        path = conf / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("OUT", str(out)))
    return conf, out


def run_entry(entry: str, conf: Path, model: str, tmp_path: Path, capsys):
    """Run one entry point; (exit code or exception, stderr)."""
    args = [f"model={model}"]
    try:
        if entry == "launch":
            try:
                launch.main(["--config-dir", str(conf), *args, "mode=plan", "backend=eager"])
                result = 0
            except SystemExit as exit_:
                result = exit_.code
        elif entry == "api":
            result = spyre_hydra.compose(args, conf_dir=conf)
        elif entry == "plugin":  # the planning step of deploy/vllm_plugin.register
            result = vllm_plugin.apply({vllm_plugin.CONF_DIR_ENV: str(conf)},
                                       logging.getLogger("test"), args)
        else:
            extra = {"list": [], "check": [], "explain": args,
                     "export-serve": [*args, "--out", str(tmp_path / "bundle")]}[entry]
            result = tool([entry, "--config-dir", str(conf), *extra])
    except SpyreHydraError as error:
        result = error
    captured = capsys.readouterr()
    return result, captured.err + captured.out


#: export-serve of the tiny model builds its checkpoint (transformers, tokenizers): the
#: engine venv's, not the small Hydra 1.4 venv's
ENTRIES = ("launch", "list", "check", "explain",
           pytest.param("export-serve", marks=pytest.mark.engine), "api", "plugin")


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("route", sorted(REFUSED))
def test_hostile_conf_dir_is_refused_before_anything_runs(route, entry, tmp_path, capsys):
    files, model, named = REFUSED[route]
    conf, out = make_conf(tmp_path, files)
    cwd = os.getcwd()
    result, err = run_entry(entry, conf, model, tmp_path, capsys)
    if isinstance(result, SpyreHydraError):
        assert isinstance(result, ConfigValidationError), result
        err = str(result)
    else:
        assert result == 2, (result, err)
    assert "Fix:" in err and named in err and str(conf) in err, err
    assert "Traceback" not in err
    assert list(out.iterdir()) == [] and os.getcwd() == cwd
    assert not (tmp_path / "bundle").exists() and "LD_PRELOAD" not in os.environ


def test_spyre_launch_console_script_refuses_the_callback(h, tmp_path):
    """The issue's reproduction, through the real console script and hydra.main."""
    conf, out = make_conf(tmp_path, REFUSED["callbacks"][0])
    proc = h.run_cli(["--config-dir", str(conf), "model=pwn", "mode=plan"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{conf}/model/pwn.yaml: # @package '_global_'" in proc.stderr
    assert list(out.iterdir()) == []


DATA_TARGET = ("architecture: {model_type: granite, num_hidden_layers: 3, hidden_size: 96, "
               f"hook: {COPY}}}")


@pytest.mark.parametrize("entry", ENTRIES)
def test_target_outside_the_configurator_is_data(entry, tmp_path, capsys):
    text = MODEL.format(extra="").replace(
        "architecture: {model_type: granite, num_hidden_layers: 3, hidden_size: 96}", DATA_TARGET)
    conf, out = make_conf(tmp_path, {"model/pwn.yaml": text})
    result, err = run_entry(entry, conf, "pwn", tmp_path, capsys)
    assert not isinstance(result, SpyreHydraError), result
    assert result in (0, None) or hasattr(result, "to_dict") or isinstance(result, tuple), err
    assert list(out.iterdir()) == []


EVIL_PKG = "spyre_confdata_evil"
EVIL_CODE = """
import pathlib
pathlib.Path({sentinel!r}).write_text("imported")  # an import with a side effect
from spyre_hydra import DefaultConfigurator


class Conf(DefaultConfigurator):
    def __init__(self, model_name, device_configs, strict=None, **kw):
        super().__init__(model_name, device_configs, strict)
        self.kw = kw
"""


@pytest.fixture
def evil_pkg(tmp_path, monkeypatch):
    """A package whose import writes tmp_path/out/IMPORTED; on sys.path for this test."""
    site = tmp_path / "site" / EVIL_PKG
    site.mkdir(parents=True)
    (site / "__init__.py").write_text(EVIL_CODE.format(sentinel=str(tmp_path / "out" / "IMPORTED")))
    monkeypatch.syspath_prepend(str(site.parent))
    yield site
    sys.modules.pop(EVIL_PKG, None)


CONFIGURATORS = {
    "import_side_effect": f"configurator: {{_target_: {EVIL_PKG}.Conf}}",
    "function_target": f"configurator: {COPY}",
    "builtin_callable": "configurator: {_target_: os.system, command: touch OUT/PWNED}",
}


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("route", sorted(CONFIGURATORS))
def test_configurator_module_is_not_imported_without_the_opt_in(route, entry, evil_pkg,
                                                                  tmp_path, capsys):
    conf, out = make_conf(tmp_path, {"model/pwn.yaml": MODEL.format(extra=CONFIGURATORS[route])})
    result, err = run_entry(entry, conf, "pwn", tmp_path, capsys)
    assert not isinstance(result, SpyreHydraError), result
    assert list(out.iterdir()) == [] and EVIL_PKG not in sys.modules
    notes = getattr(result, "warnings", ())
    text = err + "".join(notes or ())
    assert "SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1" in text, text  # every entry point says so


def test_strict_refuses_a_configurator_it_may_not_import(evil_pkg, tmp_path):
    conf, out = make_conf(tmp_path, {"model/pwn.yaml": MODEL.format(
        extra=CONFIGURATORS["import_side_effect"])})
    with pytest.raises(ConfigValidationError, match=r"(?s)custom code is off \(strict\).*"
                       rf"{EVIL_PKG}\.Conf.*Fix: SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1"):
        spyre_hydra.compose(["model=pwn", "strict=true"], conf_dir=conf)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("route,message", [
    ("function_target", r"'shutil\.copyfile' is not a subclass of spyre_hydra\.ModelConfigurator"),
    ("builtin_callable", r"'os\.system' is not a subclass"),
])
def test_with_the_opt_in_a_callable_is_checked_before_it_is_called(route, message, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("SPYRE_HYDRA_ALLOW_CUSTOM_CODE", "1")
    conf, out = make_conf(tmp_path, {"model/pwn.yaml": MODEL.format(extra=CONFIGURATORS[route])})
    with pytest.raises(ConfigValidationError, match=message):
        spyre_hydra.compose(["model=pwn"], conf_dir=conf)
    assert list(out.iterdir()) == []


def test_with_the_opt_in_the_class_is_built_and_nested_targets_stay_data(evil_pkg, tmp_path,
                                                                         monkeypatch):
    """The opt-in is what imports (the sentinel appears), and keys reach __init__ as data."""
    monkeypatch.setenv("SPYRE_HYDRA_ALLOW_CUSTOM_CODE", "1")
    node = f"configurator: {{_target_: {EVIL_PKG}.Conf, hook: {COPY}}}"
    conf, out = make_conf(tmp_path, {"model/pwn.yaml": MODEL.format(extra=node)})
    plan = spyre_hydra.compose(["model=pwn"], conf_dir=conf)
    assert plan.option == "pwn"
    assert sorted(p.name for p in out.iterdir()) == ["IMPORTED"]  # no PWNED: never called
    from spyre_hydra.catalog.configurator import make_configurator

    built = make_configurator({"hf_id": "x", "configurator": {"_target_": f"{EVIL_PKG}.Conf",
                                                              "hook": {"_target_": "os.getcwd"}}},
                              {}, False)
    assert built.kw == {"hook": {"_target_": "os.getcwd"}}


def test_hydra_instantiate_keys_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SPYRE_HYDRA_ALLOW_CUSTOM_CODE", "1")
    node = "configurator: {_target_: spyre_hydra.DefaultConfigurator, _recursive_: true}"
    conf, _ = make_conf(tmp_path, {"model/pwn.yaml": MODEL.format(extra=node)})
    with pytest.raises(ConfigValidationError, match=r"\['_recursive_'\] are Hydra instantiate "
                       r"keys, not read here.*Fix: give only keyword arguments"):
        spyre_hydra.compose(["model=pwn"], conf_dir=conf)


def test_a_copy_of_the_shipped_tree_is_accepted_until_its_primary_config_is_edited(conf_copy):
    assert spyre_hydra.compose(["model=tiny_granite"], conf_dir=conf_copy).option == "tiny_granite"
    config = conf_copy / "config.yaml"
    config.write_text(config.read_text() + "\n# edited\n")
    with pytest.raises(ConfigValidationError, match=r"config\.yaml: a conf dir's own "
                       r"config\.yaml would replace spyre_hydra's primary config"):
        spyre_hydra.compose(["model=tiny_granite"], conf_dir=conf_copy)


def test_a_sweep_preset_may_set_sweeper_params_only(tmp_path):
    from spyre_hydra.conftree.trust import check_user_root

    good = "# @package _global_\nhydra:\n  sweeper:\n    params:\n      device: tp1,tp2\n" \
           "sweep:\n  skip_unsupported: true\n"
    conf, _ = make_conf(tmp_path, {"sweep/mine.yaml": good})
    check_user_root(conf)
    (conf / "sweep" / "bad.yaml").write_text(good.replace("device:", "hydra.job.env_set.X:"))
    with pytest.raises(ConfigValidationError, match=r"sweep/bad\.yaml: hydra\.sweeper\.params\."
                       r"'hydra\.job\.env_set\.X': a sweep preset cannot sweep Hydra's own"):
        check_user_root(conf)


def test_hydra_reads_packages_as_the_rules_assume(tmp_path):
    """Pins Hydra's behaviour the rules rest on: a header is absolute, a defaults package is
    relative unless `_global_`; if a Hydra upgrade changes this, conftree/confine.py must."""
    from hydra import compose

    from spyre_hydra.conftree.hydra_adapter import initialize_conf_dir
    from spyre_hydra.conftree.searchpath import ranked_user_dir

    assert ranked_user_dir() is None  # no user dir of an earlier test ranks first here
    conf, _ = make_conf(tmp_path, {
        "config.yaml": "defaults:\n  - model: a\n  - _self_\n",
        "model/a.yaml": "defaults:\n  - /other/h\n  - /other/o@sub\n  - /other/o@_global_.g\n"
                        "  - _self_\nm: 1\n",
        "other/h.yaml": "# @package other\nh: 1\n", "other/o.yaml": "x: 1\n"})
    with initialize_conf_dir(str(conf)):
        cfg = compose("config")
    assert cfg.other.h == 1 and cfg.model.sub.x == 1 and cfg.g.x == 1 and cfg.model.m == 1


def test_prompt_text_in_a_model_file_is_not_echoed_at_length(tmp_path):
    lines = "".join(f'"root{i}:$6$\\e[31msecret{i}": x\n' for i in range(30))
    conf, _ = make_conf(tmp_path, {"model/pwn.yaml": MODEL.format(extra=lines)})
    with pytest.raises(ConfigValidationError) as info:
        spyre_hydra.get_model_registry(conf)
    text = str(info.value)
    assert "\x1b" not in text and "secret29" not in text and "and 25 more unknown keys" in text


def test_the_issue_reproduction_shape(tmp_path):
    """The text of issue 17's file, word for word, is refused by the Python API."""
    text = textwrap.dedent("""\
        # @package _global_
        hydra:
          callbacks:
            pwn: {_target_: shutil.copyfile, src: /etc/hostname, dst: OUT/PWNED}
        """)
    conf, out = make_conf(tmp_path, {"model/that.yaml": text})
    with pytest.raises(ConfigValidationError, match=r"that\.yaml: # @package '_global_': puts "
                       r"the file's keys outside model\.\*\. Fix: delete the `# @package` line"):
        spyre_hydra.compose(["model=that", "mode=plan"], conf_dir=conf)
    assert list(out.iterdir()) == []

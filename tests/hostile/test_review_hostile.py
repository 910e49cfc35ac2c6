"""Hostile cases found by a review run against the installed console scripts: each class
failed (exit 3, a traceback, a message without a fix, a file left behind, an unbounded read)
before its fix. Every case asserts the exit code, the message (names the thing, a Fix) and
that nothing outside the expected output changed."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import hostile_helpers as helpers
import pytest

LEGACY = Path("/work/shared/reference/vllm-spyre-1.10.0/model_configs.yaml")
BASE = Path(__file__).resolve().parents[2] / "conf" / "model" / "family" / "base.yaml"


@pytest.fixture
def work(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("SPYRE_HYDRA_DEBUG", raising=False)
    monkeypatch.setenv("SPYRE_HYDRA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "argv", ["pytest"])
    helpers.drop_log_handlers()
    yield tmp_path
    helpers.drop_log_handlers()


def _launch(capfd, *argv) -> tuple[int, str, str]:
    from spyre_hydra.cli.launch import main

    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capfd.readouterr()
    return code, out, err


def _tool(capfd, *argv) -> tuple[int, str, str]:
    from spyre_hydra.cli.main import main

    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capfd.readouterr()
    return code, out, err


def _script(prog: str) -> str:
    return str(Path(sys.executable).parent / prog)


def _snap(root: Path) -> dict:
    return {k: v for k, v in helpers.snapshot(root).items() if not k.startswith("cache")}


# -- usage errors of both parsers: the boundary's paragraph, never argparse's bare line --

@pytest.mark.parametrize("argv, named", [
    ([], "no command given"),
    (["nope"], "invalid choice: 'nope'"),
    (["list", "--format", "x"], "--format"),
    (["list", "--nope"], "--nope"),
    (["check", "--installed-file"], "--installed-file"),
    (["import-legacy"], "--out"),
    (["explain", "--format", "yaml"], "--format"),
    (["sweep-report"], "DIR"),
])
def test_spyre_hydra_usage_errors_have_a_fix(work, capfd, argv, named):
    before = _snap(work)
    code, _, err = _tool(capfd, *argv)
    helpers.clean_error(code, err, "spyre-hydra", "the command line", named)
    assert _snap(work) == before


@pytest.mark.parametrize("argv, named", [
    (["--cfg", "nope"], "--cfg"),
    (["--info", "nope"], "--info"),
    (["-cd"], "--config-dir"),
    (["--nope"], "--nope"),
    (["mode=plan", "-sc", "install=bash"], "install=bash"),
])
def test_spyre_launch_usage_errors_have_a_fix(work, capfd, argv, named):
    before = _snap(work)
    code, _, err = _launch(capfd, *argv)
    helpers.clean_error(code, err, "spyre-launch", "the command line", named)
    assert _snap(work) == before


class _Touch:
    """A pickle that, once loaded, creates a file: loading it would run data as code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_experimental_rerun_never_unpickles(work, capfd):
    victim = work / "pwned"
    bad = work / "config.pickle"
    bad.write_bytes(pickle.dumps(_Touch(victim)))
    code, _, err = _launch(capfd, "--experimental-rerun", bad)
    helpers.clean_error(code, err, "--experimental-rerun", bad, "pickle")
    assert not victim.exists()


@pytest.mark.parametrize("override, named", [
    ("hydra=null", "Config group override"),
    ("hydra.job_logging.root.level=NOPE", "NOPE"),
])
def test_hydra_value_errors_are_user_errors(work, capfd, override, named):
    code, _, err = _launch(capfd, "mode=plan", override)
    helpers.clean_error(code, err, "Hydra refused it", named)


def test_closed_stdout_is_quiet(tmp_path):
    read, write = os.pipe()
    os.close(read)  # the reader left before the first byte (`spyre-launch ... | head`)
    try:
        out = subprocess.run([_script("spyre-launch"), "--cfg", "job", "mode=plan"],
                             stdout=write, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                             timeout=120, env={**os.environ,
                                               "SPYRE_HYDRA_CACHE": str(tmp_path / "c")})
    finally:
        os.close(write)
    assert out.returncode == 0, out.stderr
    assert "error" not in out.stderr and "Traceback" not in out.stderr


# -- conf trees: wrong-typed defaults, top levels and keys, symlink loops --

def _conf(root: Path, bad: str) -> Path:
    conf = root / "c"
    (conf / "model" / "family").mkdir(parents=True)
    shutil.copy(BASE, conf / "model" / "family" / "base.yaml")
    (conf / "model" / "bad.yaml").write_text(bad)
    return conf


@pytest.mark.parametrize("bad, named", [
    ("defaults: 5\nhf_id: x\n", "must be a list"),
    ("defaults: {a: 1}\nhf_id: x\n", "must be a list"),
    ("defaults: [5]\nhf_id: x\n", "neither a config name"),
    ("defaults: [null, _self_]\nhf_id: x\n", "neither a config name"),
    ("defaults: [{family: [1]}]\nhf_id: x\n", "neither a config name"),
    ("- 1\n- 2\n", "must hold a mapping at the top"),
    ("42\n", "must hold a mapping at the top"),
])
@pytest.mark.parametrize("command", ["list", "check", "explain", "launch"])
def test_wrong_typed_conf_files_are_named(work, capfd, bad, named, command):
    conf = _conf(work, bad)
    before = _snap(work)
    if command == "launch":
        code, _, err = _launch(capfd, "--config-dir", conf, "model=bad", "mode=plan")
    else:
        extra = ["model=bad"] if command == "explain" else []
        code, _, err = _tool(capfd, command, "--config-dir", conf, *extra)
    helpers.clean_error(code, err, "bad.yaml", named)
    assert _snap(work) == before


@pytest.mark.parametrize("argv", [
    ["list", "--config-dir", "{loop}"],
    ["check", "--config-dir", "{loop}"],
    ["export-legacy", "--config-dir", "{loop}", "--out", "{tmp}/x.yaml"],
    ["explain", "--config-dir", "{loop}"],
    ["launch", "--config-dir", "{loop}", "mode=plan"],
])
def test_conf_dir_symlink_loop_is_named(work, capfd, argv):
    loop = work / "loop"
    loop.symlink_to(loop)
    before = _snap(work)
    argv = [a.replace("{loop}", str(loop)).replace("{tmp}", str(work)) for a in argv]
    if argv[0] == "launch":
        code, _, err = _launch(capfd, *argv[1:])
    else:
        code, _, err = _tool(capfd, *argv)
    helpers.clean_error(code, err, loop.name, "is not a directory")
    assert _snap(work) == before


def test_model_type_deleted_names_a_fix(work, capfd):
    code, _, err = _launch(capfd, "mode=plan", "~model.architecture.model_type")
    helpers.clean_error(code, err, "model.architecture.model_type", "model_type: granite")


# -- legacy catalogs: keys that are not strings --

@pytest.mark.parametrize("old, new, named", [
    ("FLEX_HDMA_P2PSIZE", "5", "env var name 5"),
    ("FLEX_HDMA_P2PSIZE", "null", "env var name None"),
    ("FLEX_HDMA_P2PSIZE", "1.5", "env var name 1.5"),
    ("num_attention_heads", "5", "architecture.5"),
    ("num_attention_heads", "null", "architecture.None"),
])
def test_legacy_keys_that_are_not_strings(work, capfd, old, new, named):
    src = work / "m.yaml"
    src.write_text(LEGACY.read_text().replace(old, new, 1))
    before = _snap(work)
    code, _, err = _tool(capfd, "import-legacy", src, "--out", work / "out")
    helpers.clean_error(code, err, named, "m.yaml")
    assert _snap(work) == before


@pytest.mark.parametrize("body, named", [
    ("models:\n  a/b: [1]\n", "must be a mapping"),
    ("models:\n  a/b:\n    architecture: {model_type: x}\n    "
     "continuous_batching_configs: [5]\n", "must be a mapping"),
    ("models:\n  a/b:\n    architecture: {model_type: x}\n    "
     "supported_configs: [{tp_size: 1}]\n", "needs cb: true or cb: false"),
    ("models:\n  a/b:\n    architecture: {model_type: x}\n    device_configs: {x: {}}\n",
     "must be a tensor parallel size"),
])
def test_legacy_shape_errors_have_a_fix(work, capfd, body, named):
    src = work / "m.yaml"
    src.write_text(body)
    code, _, err = _tool(capfd, "import-legacy", src, "--out", work / "out")
    helpers.clean_error(code, err, named)
    assert not (work / "out").exists()


# -- sweeps: results that are not files, resume of nothing --

def _sweep(tmp: Path, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([_script("spyre-launch"), "-m", "mode=plan", "device=tp1,tp2",
                           f"hydra.sweep.dir={tmp / 'sw'}", *extra], cwd=tmp,
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "SPYRE_HYDRA_CACHE": str(tmp / "cache")})


def test_resume_of_a_missing_dir_creates_nothing(tmp_path):
    before = _snap(tmp_path)
    out = _sweep(tmp_path, "sweep.resume=true")
    helpers.clean_error(out.returncode, out.stderr, "sweep.resume=true", tmp_path / "sw")
    assert _snap(tmp_path) == before and not (tmp_path / "sw").exists()


@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "nested", "garbage"])
def test_sweep_report_reads_results_bounded(tmp_path, kind):
    assert _sweep(tmp_path).returncode == 0
    result = tmp_path / "sw" / "0" / "result.json"
    result.unlink()
    if kind == "dev_zero":
        result.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(result)
    elif kind == "nested":
        result.write_text("[" * 200_000 + "]" * 200_000)
    else:
        result.write_bytes(b"\xff{")
    out = subprocess.run([_script("spyre-hydra"), "sweep-report", "--no-plot",
                          str(tmp_path / "sw")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    summary = (tmp_path / "sw" / "summary.md").read_text()
    assert "failed" in summary and "unreadable" in summary, summary
    if kind == "dev_zero":
        assert result.is_symlink() and os.readlink(result) == "/dev/zero"


def test_sweep_marker_that_is_dev_zero_is_refused(tmp_path):
    assert _sweep(tmp_path).returncode == 0
    marker = next((tmp_path / "sw").glob(".spyre_sweep*"))
    marker.unlink()
    marker.symlink_to("/dev/zero")
    out = _sweep(tmp_path, "sweep.resume=true")
    helpers.clean_error(out.returncode, out.stderr, str(marker))
    assert json.loads((tmp_path / "sw" / "sweep.json").read_text())


# -- a signal that lands inside OmegaConf: its cleanup raises, the interrupt must still win --

def _masked(kind: type[BaseException]) -> BaseException:
    """What Hydra's launcher raises when SIGINT hits OmegaConf mid-update: an AttributeError
    from a `finally`, with the KeyboardInterrupt as its context."""
    try:
        try:
            raise kind()
        finally:
            raise AttributeError("'NoneType' object has no attribute '_invalidate_flags_cache'")
    except AttributeError as error:
        return error


@pytest.mark.parametrize("kind, code", [("sigint", 130), ("sigterm", 143), ("bug", None)])
def test_interrupt_masked_by_omegaconf_cleanup_is_still_an_interrupt(kind, code):
    from spyre_hydra.sweep.finish import interrupt_in
    from spyre_hydra.sweep.sweeper import _Terminated, exit_code

    if kind == "bug":
        assert interrupt_in(AttributeError("a real bug")) is None
        return
    error = _masked(_Terminated if kind == "sigterm" else KeyboardInterrupt)
    stop = interrupt_in(error)
    assert stop is not None and exit_code(stop) == code

"""The one error boundary (issue 9.1): whatever a user can cause ends as one paragraph
`<prog>: error: <what>: <why>. Fix: <how>`, exit 2, no traceback, nothing written; a bug is
one paragraph naming the exception (exit 3); Hydra's own flags work through spyre-launch.

Most cases run the console entry points in-process (fast); a few run the installed scripts.
Each one snapshots the whole test directory (cwd included) before and after.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import hostile_helpers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GRANITE = ["model=granite_8b", "device=tp4"]


@dataclass(frozen=True)
class Case:
    id: str
    argv: list
    needles: list = field(default_factory=list)  # regexes the message must hold
    code: int = 2
    prog: str = "spyre-launch"
    setup: str | None = None


def _bad_yaml(tmp: Path) -> None:
    (tmp / "badconf" / "model").mkdir(parents=True)
    (tmp / "badconf" / "model" / "broken.yaml").write_text("hf_id: [unclosed\n")


def _cycle(tmp: Path) -> None:
    fam = tmp / "cyc" / "model" / "family"
    fam.mkdir(parents=True)
    (fam / "cyc_a.yaml").write_text("defaults:\n  - cyc_b@_here_\n  - _self_\nfamily: a\n")
    (fam / "cyc_b.yaml").write_text("defaults:\n  - cyc_a@_here_\n  - _self_\nfamily: b\n")
    (tmp / "cyc" / "model" / "cyc.yaml").write_text(
        "defaults:\n  - family/cyc_a@_here_\n  - _self_\nhf_id: x/cyc\n")


def _files(tmp: Path) -> None:
    (tmp / "afile").write_text("not a directory\n")
    (tmp / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    (tmp / "empty.txt").write_text("\n\n")
    (tmp / "ckpt").mkdir()
    (tmp / "ckpt" / "config.json").write_text("{not json")
    (tmp / "dirckpt" / "config.json").mkdir(parents=True)
    (tmp / "listckpt").mkdir()
    (tmp / "listckpt" / "config.json").write_text("[1, 2]")


SETUPS = {"bad_yaml": _bad_yaml, "cycle": _cycle, "files": _files}

DELETIONS = ["model.hf_id", "runtime", "serve", "mode", "serve.port", "serve.host",
             "runtime.name", "device", "model", "selected", "engine_args", "backend.name",
             "sendnn_version.version", "model.architecture", "model.family", "prompts",
             "device.tp_size", "device.name", "max_tokens", "strict", "sendnn_version",
             "backend"]

CASES = [
    # Hydra: missing configs, composition
    Case("config-name-nope", ["--config-name", "nope"], [r"config 'nope'", "Fix:"]),
    Case("config-name-traversal", ["--config-name", "../../etc/passwd"], [r"etc/passwd"]),
    Case("config-path-missing", ["--config-path", "{tmp}/nowhere"], [r"nowhere"]),
    Case("launcher-nope", ["hydra/launcher=nope"], [r"hydra/launcher/nope", "basic"]),
    Case("unknown-nested-key", ["model.platfroms=[x86_64]"], [r"model\.platfroms",
                                                               r"\+model\.platfroms"]),
    Case("delete-hydra-node", ["~hydra.run"], [r"hydra\.run"]),
    Case("hydra-bool", ["hydra.job.chdir=maybe"], [r"hydra\.job\.chdir"]),
    Case("unknown-top-key", ["+nogroup=x"], [r"'nogroup'"]),
    Case("unknown-device", ["device=tp3"], [r"'tp3'", "tp4"]),
    Case("unknown-model", ["model=granit_8b"], [r"'granit_8b'", "granite_8b"]),
    # override parsing
    Case("parse-bracket", ["model=[unclosed"], [r"'model=\[unclosed'"]),
    Case("parse-shapes", ["runtime.warmup_shapes=[[64,8,1]"], [r"runtime\.warmup_shapes"]),
    Case("parse-quote", ["mode='unterminated"], [r"mode='unterminated"]),
    Case("parse-space", ["key with space=1"], [r"'key with space=1'"]),
    Case("parse-empty-key", ["=value"], [r"'=value'"]),
    # OmegaConf interpolation
    Case("interp-missing", ["max_tokens=${nope}"], [r"max_tokens", r"'nope'"]),
    Case("interp-nested", ["serve.port=${serve.nope}"], [r"serve\.port", r"serve\.nope"]),
    Case("interp-engine-arg", ["engine_args.x=${model.nope}"], [r"engine_args\.x"]),
    Case("interp-self", ["max_tokens=${max_tokens}"], [r"max_tokens", r"[Rr]ecursive"]),
    Case("interp-env", ["strict=${oc.env:SPYRE_HYDRA_NO_SUCH_VAR}"], [r"strict",
                                                                   "SPYRE_HYDRA_NO_SUCH_VAR"]),
    Case("interp-decode", ["prompts=${oc.decode:'[1'}"], [r"prompts"]),
    Case("interp-run-dir", ["hydra.run.dir=${nope}"], [r"hydra\.run\.dir"]),
    Case("interp-type", ["runtime.max_num_seqs=${oc.env:HOME}"], [r"runtime\.max_num_seqs"]),
    # OSError and files on user paths
    Case("run-dir-proc", ["hydra.run.dir=/proc/x"], [r"/proc/x"]),
    Case("run-dir-under-file", ["hydra.run.dir={tmp}/afile/sub"], [r"hydra\.run\.dir"],
         setup="files"),
    Case("run-dir-dev-null", ["hydra.run.dir=/dev/null/x"], [r"hydra\.run\.dir"]),
    Case("prompts-missing", ["mode=generate", "prompts_file={tmp}/none.txt"], [r"prompts_file"]),
    Case("prompts-dir", ["mode=generate", "prompts_file={tmp}"], [r"prompts_file"]),
    Case("prompts-binary", ["mode=generate", "prompts_file={tmp}/bin.txt"], [r"prompts_file"],
         setup="files"),
    Case("prompts-empty", ["mode=generate", "prompts_file={tmp}/empty.txt"], [r"prompts_file"],
         setup="files"),
    Case("model-path-missing", ["model.path={tmp}/nowhere"], [r"model\.path"]),
    Case("model-path-file", ["model.path={tmp}/afile"], [r"model\.path"], setup="files"),
    Case("model-path-bad-json", ["model.path={tmp}/ckpt"], [r"config\.json"], setup="files"),
    Case("model-path-json-list", ["model.path={tmp}/listckpt"], [r"config\.json"],
         setup="files"),
    Case("auto-missing", ["model=auto", "model_path={tmp}/nowhere"], [r"model_path"]),
    Case("auto-config-dir", ["model=auto", "model_path={tmp}/dirckpt"], [r"model_path"],
         setup="files"),
    Case("auto-bad-json", ["model=auto", "model_path={tmp}/ckpt"], [r"config\.json"],
         setup="files"),
    Case("config-dir-missing", ["--config-dir", "{tmp}/nowhere"], [r"nowhere'"]),
    Case("config-dir-file", ["--config-dir", "{tmp}/afile"], [r"afile'"], setup="files"),
    Case("config-dir-bad-yaml", ["--config-dir", "{tmp}/badconf"], [r"broken\.yaml:\d+"],
         setup="bad_yaml"),
    # cycles
    Case("family-cycle", ["--config-dir", "{tmp}/cyc", "model=cyc"], [r"cyc_a\.yaml",
                                                                       r"cyc_b\.yaml"],
         setup="cycle"),
    # bounds a sweep point has (issue 9.8)
    Case("huge-max-model-len", [*GRANITE, "runtime.max_model_len=" + "1" + "0" * 30],
         [r"runtime\.max_model_len", "max_position_embeddings"]),
    Case("huge-shape", ["model=granite_8b", "runtime=static",
                        "runtime.warmup_shapes=[[1048576,64,1]]"],
         [r"runtime\.warmup_shapes\[0\]", "max_position_embeddings"]),
    Case("shape-not-64", ["model=granite_8b", "runtime=static",
                          "runtime.warmup_shapes=[[100,8,1]]"], [r"multiple of 64"]),
    Case("zero-batch", ["model=granite_8b", "runtime=static",
                        "runtime.warmup_shapes=[[64,8,0]]"], [r"batch_size > 0"]),
    Case("zero-tokens", ["max_tokens=0"], [r"max_tokens"]),
    Case("negative-seqs", ["runtime.max_num_seqs=-1"], [r"runtime\.max_num_seqs"]),
    Case("bad-port", ["serve.port=70000"], [r"serve\.port"]),
    Case("zero-tp", ["device.tp_size=0"], [r"device\.tp_size"]),
    # deletions of keys every launch reads
    *[Case(f"delete-{key}", [f"~{key}"], [re.escape(key)]) for key in DELETIONS],
    # the tool CLI goes through the same boundary
    Case("explain-delete", ["explain", "~model.hf_id"], [r"model\.hf_id"],
         prog="spyre-hydra"),
    Case("explain-interp", ["explain", "max_tokens=${nope}"], [r"max_tokens"],
         prog="spyre-hydra"),
    Case("explain-config-dir", ["explain", "--config-dir", "{tmp}/nowhere"], [r"nowhere"],
         prog="spyre-hydra"),
    Case("explain-auto", ["explain", "model=auto", "model_path={tmp}/nowhere"],
         [r"model_path"], prog="spyre-hydra"),
    Case("explain-cycle", ["explain", "--config-dir", "{tmp}/cyc", "model=cyc"],
         [r"cyc_a\.yaml"], prog="spyre-hydra", setup="cycle"),
]


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _call(prog: str, argv: list[str]) -> int:
    """The console entry point in-process; its exit code."""
    if prog == "spyre-hydra":
        from spyre_hydra.cli.main import main

        try:
            return main(argv)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    from spyre_hydra.cli.launch import main

    try:
        main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


@pytest.fixture
def work(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("SPYRE_HYDRA_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["pytest"])
    hostile_helpers.drop_log_handlers()
    yield tmp_path
    hostile_helpers.drop_log_handlers()


def _argv(case: Case, tmp: Path) -> list[str]:
    if case.setup:
        SETUPS[case.setup](tmp)
    return [a.replace("{tmp}", str(tmp)) for a in case.argv]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_user_error_is_one_paragraph(case, work, capfd):
    argv = _argv(case, work)
    if case.prog == "spyre-launch" and not any(a.startswith("--config-name") for a in argv):
        argv = [*argv, "mode=plan"] if "mode=generate" not in argv else argv
    before = _snapshot(work)
    code = _call(case.prog, argv)
    out, err = capfd.readouterr()
    assert code == case.code, err
    assert "Traceback" not in err + out
    assert err.startswith(f"{case.prog}{' ' + argv[0] if case.prog == 'spyre-hydra' else ''}"
                          ": error: "), err
    assert "Fix:" in err
    for needle in case.needles:
        assert re.search(needle, err), (needle, err)
    assert _snapshot(work) == before


def test_case_count():
    assert len(CASES) >= 50


@pytest.mark.parametrize("argv, needle", [
    (["--hydra-help"], r"== Flags =="),
    (["-sc", "install=bash"], r"hydra_bash_completion"),
    (["--shell-completion", "install=bash"], r"complete "),
    (["--info"], r"Installed Hydra Plugins"),
    (["--info", "defaults"], r"model/tiny_granite"),
    (["--cfg", "job"], r"selected:"),
    (["--cfg", "job", "--resolve"], r"max_model_len: 512"),
    (["--version"], r"spyre_hydra \d+\.\d+.*Hydra \d"),
    (["--help"], r"spyre-launch"),
])
def test_hydra_flags_work_through_spyre_launch(argv, needle, work, capfd):
    before = _snapshot(work)
    assert _call("spyre-launch", argv) == 0
    out, err = capfd.readouterr()
    assert re.search(needle, out), out[:500]
    assert "Traceback" not in out + err
    assert _snapshot(work) == before


def test_a_bug_names_the_exception_and_exits_3(work, capfd, monkeypatch):
    import spyre_hydra.plan.front

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(spyre_hydra.plan.front, "plan_from_config", broken)
    assert _call("spyre-launch", ["mode=plan"]) == 3
    err = capfd.readouterr().err
    assert re.fullmatch(r"spyre-launch: error: internal error \(ZeroDivisionError: division by "
                        r"zero\)\. .*SPYRE_HYDRA_DEBUG=1.*\n", err)
    monkeypatch.setenv("SPYRE_HYDRA_DEBUG", "1")
    assert _call("spyre-launch", ["mode=plan"]) == 3
    assert "Traceback" in capfd.readouterr().err


def _script(prog: str) -> list[str]:
    script = Path(sys.executable).parent / prog
    module = {"spyre-launch": "spyre_hydra.cli.launch", "spyre-hydra": "spyre_hydra.cli.main"}[prog]
    return [str(script)] if script.is_file() else [sys.executable, "-m", module]


@pytest.mark.parametrize("argv, code", [
    (["--config-name", "nope"], 2),
    (["~runtime", "mode=plan"], 2),
    (["hydra.run.dir=/proc/x", "mode=plan"], 2),
    (["mode=plan", "max_tokens=${nope}"], 2),
    (["-sc", "install=bash"], 0),
    (["--hydra-help"], 0),
])
def test_installed_script(argv, code, tmp_path):
    before = _snapshot(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "SPYRE_HYDRA_DEBUG"}
    out = subprocess.run([*_script("spyre-launch"), *argv], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    if code:
        assert re.fullmatch(r"spyre-launch: error: [^\n]+: [^\n]*Fix: [^\n]+\n", out.stderr) or \
            "Fix:" in out.stderr, out.stderr
    assert _snapshot(tmp_path) == before
    assert shutil.which("true")  # the snapshot above covers cwd: nothing was written


@pytest.mark.parametrize("argv", [
    ["-m", "model=granite_8b", "device=tp1,tp2,tp4", "mode=plan"],  # JSON Lines of a sweep
    ["--help"],
])
def test_a_reader_that_leaves_early_is_not_an_error(argv, tmp_path):
    """`spyre-launch ... | head`: the reader closes the pipe before the output is written."""
    env = {k: v for k, v in os.environ.items() if k != "SPYRE_HYDRA_DEBUG"}
    proc = subprocess.Popen([*_script("spyre-launch"), *argv], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert "error" not in err and "Traceback" not in err and "Exception ignored" not in err


def test_a_broken_pipe_elsewhere_is_still_reported(capfd):
    from spyre_hydra.cli.boundary import guarded

    def lost_socket():
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(SystemExit) as stop:
        guarded("spyre-launch", lost_socket)
    assert stop.value.code == 2
    assert re.fullmatch(r"spyre-launch: error: an I/O operation on a stream or socket failed: Broken pipe "
                        r"\(errno 32\)\. Fix: .*\n",
                        capfd.readouterr().err)


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.~+[]{}$:,'\"\\=/ 0123456789",
                min_size=1, max_size=24)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["", "mode", "model", "runtime.max_model_len", "engine_args.x",
                            "serve.port", "hydra.run.dir", "prompts", "device", "+x", "~"]),
       value=_WORD)
def test_random_overrides_never_trace(key, value, work, capfd):
    text = f"{key}={value}" if key else value
    if text.lstrip().startswith("-"):
        text = "x" + text  # an option, not an override
    before = _snapshot(work)
    code = _call("spyre-launch", [text, "mode=plan"])
    out, err = capfd.readouterr()
    assert code in (0, 1, 2), err
    assert "Traceback" not in out + err
    if code:
        assert "Fix:" in err or err.startswith("usage:"), err
    if "hydra.run.dir" not in text:
        assert _snapshot(work) == before

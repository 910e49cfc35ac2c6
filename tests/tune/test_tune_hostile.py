"""A tune fed bad input on purpose: SLO text, edited result.json files, odd --out dirs, two
tunes on one --out, a failed read-back, signals during the sweep, terminal escapes. Each
is refused with a paragraph naming the key, the value and the fix, before a file is
written. Timing-free: recorded result.json files (test_tune_profiles.write_sweep), and a
stand-in process for the sweep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest
from test_tune_profiles import SLO, write_sweep

from spyre_hydra.tune.profiles import _tuning, write_profiles
from spyre_hydra.tune.run import tune
from spyre_hydra.tune.slo import NoPointMeetsError, TuneError, parse_slo


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """One recorded sweep (composing its plans is the slow part); tests copy it."""
    return write_sweep(tmp_path_factory.mktemp("recorded") / "sweep")


@pytest.fixture
def sweep(recorded, tmp_path) -> Path:
    import shutil

    return Path(shutil.copytree(recorded, tmp_path / "sweep"))


def edit(sweep: Path, job: int, change) -> None:
    path = sweep / str(job) / "result.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


@pytest.mark.parametrize("text,match", [
    ("ttft_p99_ms<=500,ttft_p99_ms<=400", r"--slo names ttft_p99_ms twice \('ttft_p99_ms<=500' "
                                          r"and 'ttft_p99_ms<=400'\); each metric takes one "
                                          r"bound\. Fix: keep one of them"),
    ("ttft_p99_ms>=500,ttft_p99_ms<=100", r"names ttft_p99_ms twice"),
    ("ttft_p99_ms<=-5", r"'-5' is negative, and no measured latency or throughput is\. Fix: "
                        r"--slo 'ttft_p99_ms<=5'"),
    ("ttft_p99_ms<=1_000", r"'1_000' is not a finite number\. Fix:"),
    ("ttft_p99_ms<=0x10", r"'0x10' is not a finite number"),
    ("ttft_p99_ms<=1e400", r"'1e400' is not a finite number"),
    ("ttft_p99_ms<=infinity", r"'infinity' is not a finite number"),
    ("ttft_p99_ms=<500", r"operator '=' is not supported\. Valid operators: <=, <, >=, >\. "
                         r"Fix: --slo 'ttft_p99_ms<=500'\.$"),
])
def test_slo_refuses_duplicated_negative_and_non_decimal_terms(text, match):
    with pytest.raises(TuneError, match=match):
        parse_slo(text)


def test_slo_still_takes_plain_decimals():
    assert [t.bound for t in parse_slo("ttft_p99_ms<=+5,tpot_mean_ms<.5,itl_p50_ms<=1e3")] == [
        5.0, 0.5, 1000.0]


@pytest.mark.parametrize("change,match", [
    (lambda r: r["bench"]["metrics"].update(output_throughput="999"),
     r"3/result\.json: bench\.metrics\.output_throughput is '999'; it must be a number >= 0 "
     r"or null"),
    (lambda r: r["bench"]["metrics"].update(output_throughput=10 ** 400),
     r"bench\.metrics\.output_throughput is 1000.*\.\.\.; it must be a number"),
    (lambda r: r["bench"]["runs"][0].update(output_throughput=float("inf")),
     r"bench\.runs\[0\]\.output_throughput is inf"),
    (lambda r: r["bench"]["metrics"].update(ttft_p99_ms=-1.0),
     r"bench\.metrics\.ttft_p99_ms is -1\.0; it must be a number >= 0"),
    (lambda r: r["bench"].update(metrics=[1, 2]), r"bench\.metrics is \[1, 2\]; it must be a "
                                                  r"mapping"),
    (lambda r: r["plan"].pop("runtime"), r"plan\.runtime is None; it must be cb or static"),
    (lambda r: r["plan"].update(runtime="${oc.env:HOME}"), r"plan\.runtime is '\$\{oc\.env"),
    (lambda r: r.update(plan="hello"), r"plan is 'hello'; it must be a mapping"),
    (lambda r: r["plan"].update(option=None), r"plan\.option is None"),
    (lambda r: r["plan"].update(warmup_shapes=[["64", 8, 1]]), r"plan\.warmup_shapes is "),
    (lambda r: r["job"].update(overrides="abc"), r"job\.overrides is 'abc'"),
    (lambda r: r["job"].update(num=True), r"job\.num is True"),
    (lambda r: r["job"].update(num=0), r"3/result\.json: job\.num 0 is also the job of "
                                       r".*0/result\.json"),
])
def test_an_edited_result_json_is_refused_before_any_file_is_written(sweep, tmp_path, change,
                                                                      match):
    edit(sweep, 3, change)
    with pytest.raises(TuneError, match=r"holds result\.json files a tune cannot use \(\d "
                                        r"problems?\):\n(.|\n)*" + match + r"(.|\n)*Fix: move "
                                        r"those job dirs out of the sweep dir"):
        tune(sweep, SLO, out=tmp_path / "conf")
    assert not (sweep / "tune.md").exists() and not (tmp_path / "conf").exists()


def test_a_chosen_point_that_is_no_valid_profile_writes_nothing(sweep, tmp_path):
    edit(sweep, 3, lambda r: r["plan"]["provenance"]["choices"].update(device="tp9"))
    with pytest.raises(TuneError, match=r"the chosen points do not make valid profiles; nothing "
                                        r"was written:\n  - throughput \(job 3, .*3/result\.json"
                                        r"\): device 'tp9' is not a device option here \(valid: "
                                        r"tp1, tp2, tp4\)\nFix: move those job dirs"):
        tune(sweep, SLO, out=tmp_path / "conf")
    assert not (sweep / "tune.md").exists() and not (tmp_path / "conf").exists()


def test_an_unparsable_override_of_a_chosen_point_is_named_escaped(sweep, tmp_path):
    edit(sweep, 3, lambda r: r["job"]["overrides"].append(
        "engine_args.max_num_batched_tokens=\x1b]0;pwned\x07"))
    with pytest.raises(TuneError, match=r"the override 'engine_args\.max_num_batched_tokens="
                                        r"\\x1b\]0;pwned\\x07' of a chosen point is not one "
                                        r"Hydra parses.*Fix: move that job dir"):
        tune(sweep, SLO, out=tmp_path / "conf")
    assert not (tmp_path / "conf").exists()


def test_control_characters_of_a_record_never_reach_the_terminal(sweep, tmp_path, capsys):
    edit(sweep, 2, lambda r: r.update(outcome="\x1b[2Jok", error="\x1b]0;title\x07"))
    tune(sweep, SLO)
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\\x1b[2Jok: \\x1b]0;title\\x07" in printed
    assert "\x1b" not in (sweep / "tune.md").read_text()


def test_out_in_the_shipped_tree_or_on_a_file_is_refused(sweep, tmp_path, h):
    (tmp_path / "afile").write_text("mine\n")
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "model").symlink_to(h.conf / "model")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "model").write_text("mine\n")
    cases = [(h.conf / "model", r"conf/model is inside spyre_hydra's own shipped conf tree"),
             (tmp_path / "linked", r"linked/model is inside spyre_hydra's own shipped conf "
                                   r"tree"),
             (tmp_path / "afile", r"afile exists and is not a directory; profiles go into "
                                  r".*afile/model/<model>\.yaml\. Fix: --out <a new"),
             (tmp_path / "flat", r"flat/model exists and is not a directory")]
    for out, match in cases:
        with pytest.raises(TuneError, match=match):
            tune(sweep, SLO, out=out)
    assert not (h.conf / "model" / "model").exists()
    assert (tmp_path / "afile").read_text() == "mine\n" and not (sweep / "tune.md").exists()


def test_an_out_conf_dir_that_does_not_load_is_named_before_any_write(sweep, tmp_path):
    out = tmp_path / "conf"
    (out / "model").mkdir(parents=True)
    (out / "model" / "tiny_granite.yaml").write_text("hf_id: x\n")  # theirs, and broken
    with pytest.raises(spyre_hydra_errors().SpyreHydraError, match=r"tiny_granite"):
        tune(sweep, SLO, out=out)
    assert sorted(p.name for p in (out / "model").iterdir()) == ["tiny_granite.yaml"]


def spyre_hydra_errors():
    import spyre_hydra.errors

    return spyre_hydra.errors


def test_a_failed_read_back_puts_the_model_file_back(sweep, tmp_path):
    out = tmp_path / "conf"
    tune(sweep, SLO, out=out, objectives=("latency",))
    target = out / "model" / "tiny_granite.yaml"
    before = target.read_bytes()
    source = Path(__file__).resolve().parents[2] / "conf" / "model" / "tiny_granite.yaml"

    def refuse(path, launch):
        raise TuneError("read back: not as written")

    new = {"throughput": {"device": "tp1", "runtime": "static", "warmup_shapes": [[64, 8, 1]],
                          "id": "sha256:0"}}
    with pytest.raises(TuneError, match="read back"):
        write_profiles("tiny_granite", source, new, out, refuse)
    assert target.read_bytes() == before  # an update: the earlier file is back
    with pytest.raises(TuneError, match="read back"):
        write_profiles("tiny_granite", source, new, tmp_path / "fresh", refuse)
    assert not (tmp_path / "fresh" / "model" / "tiny_granite.yaml").exists()  # new: removed


def test_two_tunes_on_one_out_take_turns(sweep, tmp_path):
    """A second tune waits for the first one's lock on --out, then merges into the file the
    first wrote (without the lock, the later write dropped the other's profiles)."""
    out = tmp_path / "conf"
    tune(sweep, SLO, out=out, objectives=("throughput",))
    done = threading.Event()

    def second():
        tune(sweep, SLO, out=out, objectives=("latency",))
        done.set()

    with _tuning(out):  # the first tune, mid-write
        worker = threading.Thread(target=second)
        worker.start()
        assert not done.wait(1.0), "the second tune wrote while the first held --out"
    worker.join(60)
    text = (out / "model" / "tiny_granite.yaml").read_text()
    assert done.is_set() and "  throughput:\n" in text and "  latency:\n" in text


@pytest.mark.engine  # draws tune.png: matplotlib (engine venv)
def test_an_slo_no_point_meets_draws_its_plot_without_warnings(sweep, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "No artists with labels" was one
        with pytest.raises(NoPointMeetsError):
            # a bound at 0: the SLO region is empty, so the right plot has no labelled artist
            tune(sweep, parse_slo("ttft_p99_ms<=0"), out=tmp_path / "conf")
    assert (sweep / "tune.png").is_file()


FAKE_SWEEP = textwrap.dedent("""\
    import os, signal, sys, time
    seen = []
    def on(sig, _):
        seen.append(sig)
        time.sleep(0.5)  # the sweep's cleanup: stop the server, write the summary
        open(os.environ["MARK"], "w").write(" ".join(map(str, seen)))
        sys.exit(130 if sig == signal.SIGINT else 143)
    signal.signal(signal.SIGINT, on)
    signal.signal(signal.SIGTERM, on)
    open(os.environ["MARK"] + ".started", "w").close()
    time.sleep(120)
    """)

DRIVER = textwrap.dedent("""\
    import signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    import spyre_hydra.tune.command as command
    command.LAUNCH = (sys.executable, sys.argv[1])
    from spyre_hydra.cli.main import main
    sys.exit(main(["tune", "model=tiny_granite", "hydra.sweep.dir=sw", "--slo",
                   "ttft_p99_ms<=500"]))
    """)


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_the_tune_reaches_the_sweep_once_and_it_finishes(tmp_path, h, sig, code):
    (tmp_path / "fake.py").write_text(FAKE_SWEEP)
    (tmp_path / "drive.py").write_text(DRIVER)
    mark = tmp_path / "mark"
    proc = subprocess.Popen([sys.executable, str(tmp_path / "drive.py"),
                             str(tmp_path / "fake.py")], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=h.clean_env(MARK=str(mark), PYTHONPATH=str(h.repo)))
    started = Path(f"{mark}.started")
    for _ in range(600):  # wait (not a timing check) for the stand-in sweep to start
        if started.exists() or proc.poll() is not None:
            break
        subprocess.run(["sleep", "0.1"], check=True)
    assert started.exists(), proc.communicate()
    os.kill(proc.pid, sig)  # the tune alone, as `kill` does
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert mark.read_text() == str(int(sig))  # once, and its cleanup ran to the end
    assert "the sweep was interrupted; rerun with sweep.resume=true hydra.sweep.dir=sw" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("flag", ["--out", "--from", "--config-dir"])
def test_an_empty_dir_flag_is_refused_not_read_as_the_current_dir(tmp_path, h, flag):
    args = ["tune", "--slo", "ttft_p99_ms<=500", flag, ""]
    if flag != "--from":
        args += ["--from", str(tmp_path)]
    proc = h.run_cli(args, tmp_path, "spyre-hydra")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    if flag == "--config-dir":  # worded as for every subcommand's --config-dir (cli/main.py)
        assert "tune: error: --config-dir '' is empty. Fix: pass a conf tree" in proc.stderr
    else:
        assert f"error: {flag} is empty (it would mean the current directory). Fix: {flag} " \
               "<dir>, or leave it out." in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_newline_in_the_source_path_stays_in_the_header_comment(sweep, tmp_path, h):
    import yaml

    conf = tmp_path / "my\nevil: 1"  # the model file's own dir goes into the header comment
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "tiny_granite.yaml").write_text(
        (h.conf / "model" / "tiny_granite.yaml").read_text())
    out = tmp_path / "out"
    assert tune(sweep, SLO, out=out, config_dir=conf) == 0
    text = (out / "model" / "tiny_granite.yaml").read_text()
    assert "my\\nevil: 1/model/tiny_granite.yaml." in text.splitlines()[0]
    assert "evil" not in yaml.safe_load(text)

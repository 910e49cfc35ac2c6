"""Sweeps tried as a hostile user would (issue 9 items 5 and 7): shared dirs, two sweeps at
once, read-only places, a launcher that runs nothing, signals mid-sweep, a summary path that
is a directory. Each case: the exit code, no traceback, a message with "Fix:"."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from spyre_hydra.sweep.ownership import MARKER

BIG = ["-m", "model=granite_8b", "mode=plan", "device=tp1,tp4",
       "max_tokens=" + ",".join(str(i) for i in range(1, 151))]  # 300 points


def _clean(proc) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr


def _results(out: Path) -> dict[int, dict]:
    return {int(p.parent.name): json.loads(p.read_text())
            for p in out.glob("*/result.json")}


def test_a_dir_holding_another_sweeps_jobs_is_refused(h, tmp_path):
    out = tmp_path / "s"
    first = h.run_cli(["-m", "model=granite_8b", "mode=plan", "device=tp1,tp4",
                       f"hydra.sweep.dir={out}"], tmp_path)
    assert first.returncode == 0, first.stderr
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    second = h.run_cli(["-m", "model=granite_8b", "mode=plan", "device=tp2",
                        f"hydra.sweep.dir={out}"], tmp_path)
    assert second.returncode == 2
    _clean(second)
    owner = json.loads((out / MARKER).read_text())["sweep_id"]
    assert f"holds the jobs of sweep {owner}. Fix: pick another hydra.sweep.dir" in second.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # nothing touched


def test_a_dir_with_foreign_jobs_and_no_marker_is_refused(h, tmp_path):
    out = tmp_path / "old"
    (out / "0").mkdir(parents=True)
    (out / "0" / "result.json").write_text('{"outcome": "ok"}')
    proc = h.run_cli(["-m", "mode=plan", "model=granite_8b", "device=tp1,tp4", f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 2
    _clean(proc)
    assert "holds jobs of another sweep (it has no ownership marker). Fix:" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["0"]


def test_two_sweeps_at_once_on_one_dir_one_is_refused(h, tmp_path):
    out = tmp_path / "same"
    cmd = [*h.launch_cmd(), *BIG[:4], "max_tokens=1,2,3,4,5,6,7,8", f"hydra.sweep.dir={out}"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=h.clean_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    refused = outs[[p.returncode for p in procs].index(2)][1]
    assert "Traceback" not in refused and "Fix: " in refused
    assert len(_results(out)) == 16 and all(r["outcome"] == "ok" for r in _results(out).values())


def test_default_sweep_dirs_started_at_the_same_moment_differ():
    from hydra_plugins.spyre_sweeper.spyre_sweeper import SpyreSweeper

    dirs = set()
    for _ in range(2):
        sweeper = SpyreSweeper()
        sweeper.config = OmegaConf.create({"hydra": {
            "sweep": {"dir": "multirun/2026-01-01/12-00-00"}, "overrides": {"hydra": []}}})
        dirs.add(str(sweeper.fix_sweep_dir()))
        assert sweeper.config.hydra.overrides.hydra[-1] == f"hydra.sweep.dir={sweeper.config.hydra.sweep.dir}"
    assert len(dirs) == 2 and all(d.startswith("multirun/2026-01-01/12-00-00-") for d in dirs)


def test_a_given_sweep_dir_is_used_as_given(h, tmp_path):
    proc = h.run_cli(["-m", "mode=plan", "model=granite_8b", "device=tp1,tp4",
                      "hydra.sweep.dir=exact"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "exact" / "0" / "result.json").is_file()


def _as_nobody(h, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("drops to the nobody user, which needs root")
    cwd = tmp_path / "ro"
    cwd.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(cwd, 0o555)
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, 0o777)
    env = h.clean_env(SPYRE_HYDRA_CACHE=str(cache), HOME=str(cache))
    base = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *h.launch_cmd(),
            "-m", "mode=plan", "model=granite_8b", "device=tp1,tp4"]
    return cwd, env, base


def test_read_only_cwd_dry_run_works(h, tmp_path):
    cwd, env, base = _as_nobody(h, tmp_path)
    dry = subprocess.run(base, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert len(dry.stdout.splitlines()) == 2 and list(cwd.iterdir()) == []


def test_read_only_cwd_sweep_dir_there_is_refused(h, tmp_path):
    cwd, env, base = _as_nobody(h, tmp_path)
    wet = subprocess.run([*base, "hydra.sweep.dir=out"], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=120)
    assert wet.returncode == 2, wet.stderr
    _clean(wet)
    assert "hydra.sweep.dir" in wet.stderr and "'out' cannot be created: " in wet.stderr
    assert "Fix: choose a writable directory" in wet.stderr
    assert list(cwd.iterdir()) == []


def test_sweep_dir_under_a_file_is_refused(h, tmp_path):
    (tmp_path / "file").write_text("x")
    proc = h.run_cli(["-m", "mode=plan", "model=granite_8b", "device=tp1,tp4",
                      f"hydra.sweep.dir={tmp_path / 'file' / 'sub'}"], tmp_path)
    assert proc.returncode == 2
    _clean(proc)
    assert "cannot be created" in proc.stderr and "Fix: " in proc.stderr


def test_joblib_n_jobs_0_is_refused_before_any_dir(h, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    out = tmp_path / "s"
    proc = h.run_cli(["-m", "mode=plan", "model=granite_8b", "device=tp1,tp4", "hydra/launcher=joblib",
                      "hydra.launcher.n_jobs=0", f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 2
    _clean(proc)
    assert "hydra.launcher.n_jobs=0 runs no job. Fix: hydra.launcher.n_jobs=<N > 0>" in \
        proc.stderr
    assert not out.exists()


def _interrupt_midway(h, tmp_path, out: Path, sig: int) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([*h.launch_cmd(), *BIG, f"hydra.sweep.dir={out}"], cwd=tmp_path,
                            env=h.clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*/result.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_sweep_keeps_results_writes_summary_then_resume(h, tmp_path, sig, code):
    out = tmp_path / "s"
    stopped = _interrupt_midway(h, tmp_path, out, sig)
    assert stopped.returncode == code, stopped.stderr[-3000:]
    _clean(stopped)
    assert f"Fix: rerun with sweep.resume=true hydra.sweep.dir={out}" in stopped.stderr
    finished = {n: r for n, r in _results(out).items() if r["outcome"] == "ok"}
    assert 3 <= len(finished) < 300
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert len(rows) == 300
    assert sum(r["outcome"] == "ok" for r in rows) == len(finished)
    assert {r["outcome"] for r in rows} <= {"ok", "missing", "failed"}
    stamps = {n: (out / str(n) / "result.json").stat().st_mtime_ns for n in finished}
    resumed = h.run_cli([*BIG, f"hydra.sweep.dir={out}", "sweep.resume=true"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming: {len(finished)} of 300 points already have an ok result" in \
        resumed.stderr
    assert len(resumed.stdout.splitlines()) == 300 - len(finished)  # only the rest ran
    assert all(r["outcome"] == "ok" for r in _results(out).values())
    assert len(_results(out)) == 300
    assert {n: (out / str(n) / "result.json").stat().st_mtime_ns for n in finished} == stamps


def test_resume_with_another_definition_is_refused(h, tmp_path):
    out = tmp_path / "s"
    assert h.run_cli(["-m", "mode=plan", "model=granite_8b", "device=tp1,tp4", f"hydra.sweep.dir={out}"],
                     tmp_path).returncode == 0
    proc = h.run_cli(["-m", "mode=plan", "model=granite_8b", "device=tp1,tp2", f"hydra.sweep.dir={out}",
                      "sweep.resume=true"], tmp_path)
    assert proc.returncode == 2
    _clean(proc)
    assert "with a different definition" in proc.stderr and "Fix: resume with the same" in \
        proc.stderr
    fresh = h.run_cli(["-m", "mode=plan", "model=granite_8b", "device=tp1", f"hydra.sweep.dir={tmp_path / 'new'}",
                       "sweep.resume=true"], tmp_path)
    assert fresh.returncode == 2 and "holds no sweep to resume. Fix:" in fresh.stderr


def test_summary_csv_that_is_a_directory(h, tmp_path):
    out = tmp_path / "s"
    (out / "summary.csv").mkdir(parents=True)
    proc = h.run_cli(["-m", "mode=plan", "model=granite_8b", "device=tp1,tp4", f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    _clean(proc)
    assert "summary.csv: it is a directory" in proc.stderr and "Fix: remove or rename" in proc.stderr
    assert len(_results(out)) == 2  # the jobs' results are kept
    assert (out / "summary.csv").is_dir()
    report = h.run_cli(["sweep-report", str(out)], tmp_path, prog="spyre-hydra")
    assert report.returncode == 2
    _clean(report)
    assert "summary.csv: it is a directory" in report.stderr and "Fix:" in report.stderr

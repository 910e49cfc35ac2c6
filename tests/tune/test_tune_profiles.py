"""Profiles written back and used, on a recorded bench sweep (real plans, made-up figures):
the write-back rules, profile= in the plan, explain / list / check, values kept as data.
No engine starts: the sweep's result.json files are written by the test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import spyre_hydra
from spyre_hydra.catalog.registry import get_model_registry, reset_registries
from spyre_hydra.tune.run import tune
from spyre_hydra.tune.slo import NoPointMeetsError, parse_slo

SLO = parse_slo("ttft_p99_ms<=500,tpot_mean_ms<=50")
BASE = ["model=tiny_granite", "runtime=static", "backend=eager", "device=tp1", "mode=bench",
        "sweep.explore=true"]
#: shape, concurrency, ttft_p99, tpot_mean, e2el_p50, output tok/s
POINTS = [("[[64,8,1]]", 1, 40.0, 3.0, 50.0, 160.0),
          ("[[64,8,1]]", 2, 80.0, 4.0, 90.0, 165.0),
          ("[[192,16,2]]", 1, 650.0, 19.0, 540.0, 15.0),   # misses ttft_p99_ms
          ("[[192,16,2]]", 2, 370.0, 30.0, 370.0, 240.0)]  # not in the catalog: explored


def write_sweep(sweep_dir: Path, points=POINTS, extra=()) -> Path:
    labels = []
    for num, (shape, conc, ttft, tpot, e2el, thr) in enumerate(points):
        overrides = [*BASE, f"runtime.warmup_shapes={shape}", f"bench.max_concurrency={conc}",
                     *extra]
        plan = spyre_hydra.compose([o for o in overrides if not o.startswith("engine_args")])
        metrics = {"ttft_p99_ms": ttft, "tpot_mean_ms": tpot, "e2el_p50_ms": e2el,
                   "output_throughput": thr, "request_throughput": thr / 8}
        record = {"job": {"num": num, "overrides": overrides}, "outcome": "ok", "error": None,
                  "plan": plan.to_dict(), "verified": plan.supported,
                  "bench": {"metrics": metrics, "runs": [metrics],
                            "workload": {"concurrency": conc}}}
        (sweep_dir / str(num)).mkdir(parents=True)
        (sweep_dir / str(num) / "result.json").write_text(json.dumps(record))
        labels.append(" ".join(overrides))
    (sweep_dir / "sweep.json").write_text(json.dumps({"points": labels}))
    return sweep_dir


@pytest.fixture
def sweep(tmp_path) -> Path:
    return write_sweep(tmp_path / "sweep")


def profiles_in(path: Path) -> dict:
    reset_registries()
    return get_model_registry(path).get_model_config("tiny_granite").profiles


@pytest.mark.engine  # draws tune.png: matplotlib (engine venv)
def test_tune_writes_three_profiles_that_a_launch_plans(sweep, tmp_path, capsys):
    out = tmp_path / "conf"
    assert tune(sweep, SLO, out=out) == 0
    assert "wrote profiles throughput, latency, balanced of model tiny_granite" in \
        capsys.readouterr().out
    profiles = profiles_in(out)
    assert {n: p["warmup_shapes"] for n, p in profiles.items()} == {
        "throughput": [[192, 16, 2]], "latency": [[64, 8, 1]], "balanced": [[64, 8, 1]]}
    evidence = profiles["throughput"]["evidence"]
    assert evidence["slo"] == "ttft_p99_ms<=500,tpot_mean_ms<=50"
    assert evidence["measured"]["output_throughput"] == 240.0
    assert evidence["sweep"]["fingerprint"].startswith("sha256:")
    assert set(evidence["versions"]) == {"spyre_hydra", "vllm", "sendnn-inference",
                                         "torch_sendnn"}
    assert evidence["catalog_verified"] is False and evidence["date"]
    plan = spyre_hydra.compose(["profile=throughput", "backend=eager"], conf_dir=out)
    assert plan.warmup_shapes == ((192, 16, 2),) and plan.runtime == "static"
    assert plan.layout == "tune-measured" and not plan.supported
    assert plan.profile["id"] == profiles["throughput"]["id"] and plan.profile["as_measured"]
    latency = spyre_hydra.compose(["profile=latency", "backend=eager"], conf_dir=out)
    assert latency.layout == "catalog-verified" and latency.args["max_num_seqs"] == 1
    report = (sweep / "tune.md").read_text()
    assert "| 2 |" in report and "fail: ttft_p99_ms: 650 > 500" in report
    assert "**throughput**" in report and (sweep / "tune.png").read_bytes()[:4] == b"\x89PNG"


def test_a_second_tune_over_the_same_dir_chooses_the_same(sweep, tmp_path):
    tune(sweep, SLO, out=tmp_path / "a", date="2026-01-01")
    tune(sweep, SLO, out=tmp_path / "b", date="2026-02-02")
    first, second = profiles_in(tmp_path / "a"), profiles_in(tmp_path / "b")
    assert {n: p["id"] for n, p in first.items()} == {n: p["id"] for n, p in second.items()}
    # again into the same conf dir: the file is ours and unchanged, so it is updated
    tune(sweep, SLO, out=tmp_path / "a", objectives=("latency",), date="2026-03-03")
    assert profiles_in(tmp_path / "a")["latency"]["evidence"]["date"] == "2026-03-03"
    assert not (tmp_path / "a" / "model" / "tiny_granite_tuned.yaml").exists()


def test_a_hand_edited_model_file_is_left_untouched(sweep, tmp_path):
    out = tmp_path / "conf"
    tune(sweep, SLO, out=out)
    mine = out / "model" / "tiny_granite.yaml"
    mine.write_text(mine.read_text() + "# my note\n")
    before = mine.read_bytes()
    tune(sweep, SLO, out=out, objectives=("throughput",))
    assert mine.read_bytes() == before
    variant = out / "model" / "tiny_granite_tuned.yaml"
    assert "- tiny_granite@_here_" in variant.read_text()
    plan = spyre_hydra.compose(["model=tiny_granite_tuned", "profile=throughput",
                                "backend=eager"], conf_dir=out)
    assert plan.model == "spyre-hydra/tiny-granite" and plan.warmup_shapes == ((192, 16, 2),)
    reset_registries()
    options = get_model_registry(out).list_options()
    assert "tiny_granite" in options and "tiny_granite_tuned" in options


def test_a_foreign_model_file_gets_a_file_beside_it(sweep, tmp_path, h):
    out = tmp_path / "conf"
    (out / "model").mkdir(parents=True)
    own = out / "model" / "tiny_granite.yaml"
    own.write_text((h.conf / "model" / "tiny_granite.yaml").read_text())
    before = own.read_bytes()
    tune(sweep, SLO, out=out)
    assert own.read_bytes() == before
    assert (out / "model" / "tiny_granite_tuned.yaml").is_file()


def test_no_point_meeting_the_slo_names_the_closest(sweep, tmp_path):
    with pytest.raises(NoPointMeetsError, match=r"no point meets the SLO ttft_p99_ms<=30,"
                       r"tpot_mean_ms<=50; closest: job 0 \(runtime.warmup_shapes=\[\[64,8,1\]\]"
                       r" bench.max_concurrency=1\): ttft_p99_ms: 40 > 30\. Fix: relax"):
        tune(sweep, parse_slo("ttft_p99_ms<=30,tpot_mean_ms<=50"), out=tmp_path / "conf")
    assert not (tmp_path / "conf").exists()
    assert "closest: job 0" in (sweep / "tune.md").read_text()


def test_an_explicit_override_wins_and_the_plan_says_so(sweep, tmp_path):
    out = tmp_path / "conf"
    tune(sweep, SLO, out=out)
    plan = spyre_hydra.compose(["profile=throughput", "backend=eager",
                                "runtime.warmup_shapes=[[64,8,2]]"], conf_dir=out)
    assert plan.warmup_shapes == ((64, 8, 2),) and plan.layout == "catalog-verified"
    assert plan.profile["as_measured"] is False
    assert plan.profile["overridden"] == ["runtime.warmup_shapes"]
    assert any("no longer as measured: the command line sets runtime.warmup_shapes" in w
               for w in plan.warnings)
    same = spyre_hydra.compose(["profile=throughput", "backend=eager", "device=tp1"],
                               conf_dir=out)
    assert same.profile["as_measured"] is True  # the profile's own value changes nothing


def test_profile_values_are_data_not_interpolations(tmp_path):
    sweep = write_sweep(tmp_path / "sweep", POINTS[:1],
                        extra=["engine_args.served_model_name='${oc.env:HOME}'"])
    out = tmp_path / "conf"
    tune(sweep, SLO, out=out)
    text = (out / "model" / "tiny_granite.yaml").read_text()
    assert "\\${oc.env:HOME}" in text
    plan = spyre_hydra.compose(["profile=latency", "backend=eager"], conf_dir=out)
    assert plan.args["served_model_name"] == "${oc.env:HOME}"


def test_unknown_profile_lists_the_models_profiles(sweep, tmp_path):
    out = tmp_path / "conf"
    tune(sweep, SLO, out=out, objectives=("latency",))
    with pytest.raises(spyre_hydra.errors.UnknownOptionError,
                       match=r"profile='fast': model tiny_granite has no profile 'fast' \(it "
                             r"has latency, in .*tiny_granite.yaml\)\. Fix: profile=latency"):
        spyre_hydra.compose(["profile=fast"], conf_dir=out)


@pytest.mark.engine  # compares with vllm's installed version (engine venv)
def test_list_explain_and_check_show_the_profiles(sweep, tmp_path, h):
    out = tmp_path / "conf"
    tune(sweep, SLO, out=out)
    ids = {n: p["id"] for n, p in profiles_in(out).items()}
    listing = h.run_cli(["list", "--config-dir", str(out)], tmp_path, "spyre-hydra")
    row = next(line for line in listing.stdout.splitlines() if line.startswith("tiny_granite"))
    assert f"latency ({ids['latency']})" in row and f"throughput ({ids['throughput']})" in row
    explained = h.run_cli(["explain", "--config-dir", str(out), "profile=latency",
                           "backend=eager"], tmp_path, "spyre-hydra")
    line = next(x for x in explained.stdout.splitlines() if x.startswith("profile = "))
    assert f"profiles.latency ({ids['latency']}; chosen by spyre-hydra tune on" in line
    assert f"of sweep {sweep.resolve()}" in line
    assert "warmup_shapes = [[64, 8, 1]]" in explained.stdout
    from spyre_hydra.cli.check import profile_warnings

    reset_registries()
    warnings = profile_warnings(get_model_registry(out), {"spyre_hydra": "0.1.0",
                                                          "vllm": "9.9.9"})
    assert len(warnings) == 3
    assert "vllm 0.28.0 (installed: 9.9.9)" in warnings[0]


def test_cli_bad_slo_exits_2_and_no_point_exits_1(sweep, tmp_path, h):
    bad = h.run_cli(["tune", "--from", str(sweep), "--slo", "ttft<=5"], tmp_path, "spyre-hydra")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "unknown metric 'ttft'" in bad.stderr and "Fix: --slo" in bad.stderr
    none = h.run_cli(["tune", "--from", str(sweep), "--slo", "ttft_p99_ms<=1"], tmp_path,
                     "spyre-hydra")
    assert none.returncode == 1 and "closest: job 0" in none.stderr


def test_tune_module_imports_no_torch_or_vllm():
    code = ("import sys, spyre_hydra.tune.command, spyre_hydra.tune.run; "
            "print(sorted(m for m in ('torch', 'vllm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_a_continuous_batching_profile_keeps_its_lengths(tmp_path):
    sweep = tmp_path / "sweep"
    for num, seqs in enumerate((2, 4)):  # max_num_seqs=2 is not a catalog entry: explored
        overrides = ["model=tiny_granite", "backend=eager", "mode=bench", "sweep.explore=true",
                     f"runtime.max_num_seqs={seqs}"]
        plan = spyre_hydra.compose(overrides)
        metrics = {"ttft_p99_ms": 10.0, "tpot_mean_ms": 1.0, "e2el_p50_ms": 20.0 * seqs,
                   "output_throughput": 10.0 * seqs}
        (sweep / str(num)).mkdir(parents=True)
        (sweep / str(num) / "result.json").write_text(json.dumps(
            {"job": {"num": num, "overrides": overrides}, "outcome": "ok",
             "plan": plan.to_dict(), "bench": {"metrics": metrics, "runs": [metrics]}}))
    out = tmp_path / "conf"
    assert tune(sweep, SLO, out=out) == 0
    written = profiles_in(out)
    assert (written["latency"]["runtime"], written["latency"]["max_model_len"],
            written["latency"]["max_num_seqs"]) == ("cb", 512, 2)
    plan = spyre_hydra.compose(["profile=latency", "backend=eager"], conf_dir=out)
    assert (plan.runtime, plan.args["max_model_len"], plan.args["max_num_seqs"]) == ("cb", 512, 2)
    assert plan.layout == "tune-measured"
    throughput = spyre_hydra.compose(["profile=throughput", "backend=eager"], conf_dir=out)
    assert throughput.args["max_num_seqs"] == 4 and throughput.layout == "catalog-verified"


def test_profiles_never_go_into_the_shipped_tree(sweep, h):
    from spyre_hydra.tune.slo import TuneError

    with pytest.raises(TuneError, match=r"is spyre_hydra's own shipped conf tree.*Fix: --out "
                                        r"myconf"):
        tune(sweep, SLO, out=h.conf)
    assert not (h.conf / "model" / "tiny_granite_tuned.yaml").exists()


def test_a_profile_on_another_device_takes_that_devices_settings(tmp_path):
    """A hand-written profile of a variant file: device tp4 brings tp4's env and blocks."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "granite_8b_tuned.yaml").write_text(
        "defaults:\n  - granite_8b@_here_\n  - _self_\n"
        "profiles:\n  wide:\n    device: tp4\n    runtime: cb\n    max_model_len: 32768\n"
        "    max_num_seqs: 32\n    id: sha256:0123456789abcdef\n")
    plan = spyre_hydra.compose(["model=granite_8b_tuned", "profile=wide", "sendnn_version=1.0.2",
                                "backend=eager"], conf_dir=tmp_path)
    assert plan.tp_size == 4 and plan.provenance.choices["device"] == "tp4"
    assert plan.env["FLEX_HDMA_P2PSIZE"] == "268435456"
    assert plan.args["num_gpu_blocks_override"] == 2080 and plan.layout == "catalog-verified"
    assert plan.model == "ibm-granite/granite-3.3-8b-instruct"


def test_a_sweep_over_profiles_runs_the_measured_layouts(sweep, tmp_path, h):
    out = tmp_path / "conf"
    tune(sweep, SLO, out=out)
    proc = h.run_cli(["--config-dir", str(out), "-m", "profile=latency,throughput",
                      "backend=eager", "mode=plan"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    plans = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(p["profile"]["name"], p["warmup_shapes"], p["layout"]) for p in plans] == [
        ("latency", [[64, 8, 1]], "catalog-verified"),
        ("throughput", [[192, 16, 2]], "tune-measured")]

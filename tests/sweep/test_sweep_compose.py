"""The sweeper's point composition equals Hydra's compose; expansion (zip, shapes) and the
dry-run / JSON Lines contract."""

from __future__ import annotations

import json

import pytest
from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from spyre_hydra.conftree.hydra_adapter import initialize_conf_dir
from spyre_hydra.conftree.resolvers import register_resolvers
from spyre_hydra.conftree.roots import shipped_conf_dir
from spyre_hydra.sweep.compose import PointComposer
from spyre_hydra.sweep.points import SweepDefinitionError, expand

POINTS = [
    ["model=granite_8b", "device=tp4", "max_tokens=7", "mode=plan"],
    ["model=granite_8b", "runtime=static", "device=tp1",
     "runtime.warmup_shapes=[[2048,1024,16]]"],
    ["model=tiny_granite", "runtime.max_model_len=256", "+engine_args.seed=3", "strict=true"],
    ["model=granite_8b_fp8", "sendnn_version=1.0.3", "prompts=[a,b]", "serve.port=9000"],
    ["model=tiny_granite", "~model.path"],
]


def _plain(cfg):
    """The whole tree without values that legitimately differ between two composes."""
    data = OmegaConf.to_container(cfg, resolve=False)
    data["hydra"]["runtime"].pop("output_dir", None)
    return data


@pytest.fixture
def composer():
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_conf_dir(str(shipped_conf_dir())):
        master = compose("config", overrides=["mode=plan"], return_hydra_config=True)
        yield PointComposer(master, GlobalHydra.instance().config_loader())


@pytest.mark.parametrize("point", POINTS, ids=lambda p: " ".join(p))
def test_point_compose_equals_hydra_compose(composer, point):
    # the memoised base is composed by another point first, so memoisation is exercised
    composer.compose(["model=granite_8b", "device=tp4", "max_tokens=1"])
    ours = composer.compose(point)
    with composer.applied(point) as in_place:
        in_place_tree = _plain(in_place)
    hydra = composer.loader.load_sweep_config(composer.config, list(point))
    assert _plain(ours) == _plain(hydra)
    assert in_place_tree == _plain(hydra)
    # in place leaves the base as it was: the next point sees none of this one's values
    again = composer.compose(["model=granite_8b", "device=tp4", "max_tokens=1"])
    assert _plain(again) == _plain(composer.loader.load_sweep_config(
        composer.config, ["model=granite_8b", "device=tp4", "max_tokens=1"]))


def test_jobs_write_into_the_sweep_dir_fixed_after_the_preflight(composer):
    """A default sweep dir gets its unique suffix after the pre-flight memoised the bases:
    the jobs' trees (in place or copied) must carry the suffixed dir, as a fresh compose
    does, or their result.json lands where the sweep never looks."""
    from hydra_plugins.spyre_sweeper.spyre_sweeper import SpyreSweeper

    point = ["model=tiny_granite", "max_tokens=2", "mode=config"]
    composer.check(point)  # the pre-flight memoises the base
    steps = SpyreSweeper()
    steps.config = composer.config
    fixed = str(steps.fix_sweep_dir())
    assert fixed.startswith("multirun/") and fixed[-7] == "-"
    composer.sweep_dir_fixed(fixed)
    hydra = composer.loader.load_sweep_config(composer.config, list(point))
    assert hydra.hydra.sweep.dir == fixed
    assert composer.compose(point).hydra.sweep.dir == fixed
    with composer.applied(point) as in_place:
        assert in_place.hydra.sweep.dir == fixed
        assert _plain(in_place) == _plain(hydra)


def test_bad_value_override_is_broken_not_raised(composer):
    checked = composer.check(["model=granite_8b", "no_such_key=1"])
    assert checked.plan is None and "Could not override 'no_such_key'" in checked.broken
    assert "Fix: to add a key use +no_such_key=1" in checked.broken
    checked = composer.check(["model=granite_8b", "max_tokens=abc"])  # composes, plan refuses
    assert checked.plan is None and "max_tokens" in checked.bad
    # and the base is unharmed for the next point
    assert composer.check(["model=granite_8b", "max_tokens=3"]).bad is None


def test_zip_moves_axes_together_and_product_crosses_them(composer):
    args = ["runtime.warmup_shapes=[64,8,1],[128,8,2]", "device=tp1,tp4", "max_tokens=1,2"]
    product = expand(args, composer.parser)
    assert len(product) == 8
    zipped = expand(args + ["sweep.zip=[runtime.warmup_shapes,device]"], composer.parser)
    assert [p[:3] for p in zipped] == [
        ["runtime.warmup_shapes=[[64,8,1]]", "device=tp1", "max_tokens=1"],
        ["runtime.warmup_shapes=[[64,8,1]]", "device=tp1", "max_tokens=2"],
        ["runtime.warmup_shapes=[[128,8,2]]", "device=tp4", "max_tokens=1"],
        ["runtime.warmup_shapes=[[128,8,2]]", "device=tp4", "max_tokens=2"]]
    assert all(p[3] == "sweep.zip=[runtime.warmup_shapes,device]" for p in zipped)


def test_grammar_range_glob_and_shape_triples(composer):
    points = expand(["max_tokens=range(1,4)", "model=glob(granite_8b*)",
                     "runtime.warmup_shapes=[[64,8,1],[64,8,2]],[128,8,2]"], composer.parser)
    assert len(points) == 3 * 2 * 2
    shapes = sorted({p[2] for p in points})
    assert shapes == ["runtime.warmup_shapes=[[128,8,2]]",
                      "runtime.warmup_shapes=[[64,8,1],[64,8,2]]"]


@pytest.mark.parametrize("args,message", [
    (["device=tp1,tp4", "max_tokens=1,2,3", "sweep.zip=[device,max_tokens]"],
     "device has 2, max_tokens has 3"),
    (["device=tp1,tp4", "sweep.zip=[device,runtime.warmup_shapes]"],
     "sweep.zip names runtime.warmup_shapes, which the sweep does not set"),
    (["max_tokens=interval(1,4)"], "an interval sweep has no list of points"),
])
def test_bad_definitions_say_why_and_fix(composer, args, message):
    with pytest.raises(SweepDefinitionError, match="Fix: ") as info:
        expand(args, composer.parser)
    assert message in str(info.value)


def test_nested_zip_list_names_the_key_the_value_and_the_flat_fix(composer):
    with pytest.raises(SweepDefinitionError, match=(
            r"^sweep\.zip=\[\[device,max_tokens\],\[backend\]\] is not a flat list of axis "
            r"names; .* Fix: sweep\.zip=\[device,max_tokens,backend\] to move them all")):
        expand(["device=tp1,tp4", "max_tokens=1,2", "backend=cpu,eager",
                "sweep.zip=[[device,max_tokens],[backend]]"], composer.parser)


def test_nested_zip_list_at_the_command_line(h, tmp_path):
    proc = h.run_cli(["-m", "mode=plan", "device=tp1,tp4", "max_tokens=1,2",
                      "sweep.zip=[[device,max_tokens]]"], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert ("sweep.zip=[[device,max_tokens]] is not a flat list of axis names" in proc.stderr
            and "Fix: sweep.zip=[device,max_tokens] " in proc.stderr), proc.stderr


def test_dry_run_prints_json_lines_and_writes_nothing(h, tmp_path):
    proc = h.run_cli(["-m", "model=granite_8b", "mode=plan", "device=tp1,tp2,tp4",
                      "max_tokens=1,2"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    plans = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [p["tp_size"] for p in plans] == [1, 1, 2, 2, 4, 4]
    assert list(tmp_path.iterdir()) == []  # no multirun/, no summary, nothing
    assert "dry run: nothing written" in proc.stderr


def test_zip_sweep_end_to_end(h, tmp_path):
    out = tmp_path / "s"
    proc = h.run_cli(["-m", "model=granite_8b", "runtime=static", "mode=plan",
                      "runtime.warmup_shapes=[2048,1024,16],[6144,2048,1]", "device=tp1,tp4",
                      "sweep.zip=[runtime.warmup_shapes,device]",
                      f"hydra.sweep.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr  # the product would have 2 unsupported points
    plans = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(p["tp_size"], p["warmup_shapes"]) for p in plans] == [
        (1, [[2048, 1024, 16]]), (4, [[6144, 2048, 1]])]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["0", "1"]


def test_engine_sweep_with_an_offline_hub_id_is_refused_up_front(h, tmp_path):
    """granite_8b's checkpoint is a hub id; the eager backend runs with HF_HUB_OFFLINE=1 and
    there is no cached copy: every job would fail, so the pre-flight refuses the sweep."""
    out = tmp_path / "s"
    proc = h.run_cli(["-m", "model=granite_8b", "backend=eager", "mode=generate",
                      "device=tp1,tp4", f"hydra.sweep.dir={out}"], tmp_path,
                     HF_HUB_CACHE=str(tmp_path / "empty"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "2 of 2 sweep points are invalid; no job was started" in proc.stderr
    assert "is a Hugging Face id and the hub is offline" in proc.stderr
    assert "Fix: model.path=/path/to/checkpoint" in proc.stderr
    assert not out.exists()


def test_skip_unsupported_does_not_hide_a_missing_checkpoint(h, tmp_path):
    """Unsupported layouts may be skipped; a checkpoint that cannot be loaded is the user's
    fix (model.path=...), so the sweep is refused rather than reported as all skipped."""
    proc = h.run_cli(["-m", "+sweep=granite_8b_static", "backend=eager", "mode=generate"],
                     tmp_path, HF_HUB_CACHE=str(tmp_path / "empty"))
    assert proc.returncode == 2, proc.stderr
    assert "6 of 6 sweep points are invalid; no job was started" in proc.stderr
    assert proc.stderr.count("Fix: model.path=/path/to/checkpoint") == 3
    assert not (tmp_path / "multirun").exists()


def test_an_engine_sweep_whose_points_are_all_skipped_is_no_dry_run(h, tmp_path):
    ckpt = h.hf_configs / "ibm-granite" / "granite-3.3-8b-instruct"
    proc = h.run_cli(["-m", "model=granite_8b", "runtime=static", "backend=eager",
                      "runtime.warmup_shapes=[[6144,2048,1]]", "sweep.skip_unsupported=true",
                      f"model.path={ckpt}", "mode=config"], tmp_path)  # default sweep dir
    assert proc.returncode == 0, proc.stderr
    assert "dry run" not in proc.stderr
    assert "0 ok, 0 failed, 1 skipped" in proc.stderr
    [result] = tmp_path.glob("multirun/*/*/0/result.json")
    assert json.loads(result.read_text())["outcome"] == "skipped"

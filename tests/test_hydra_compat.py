"""Both Hydra / OmegaConf lines (1.3 / 2.3 and 1.4 / 2.4): the adapter picks the spelling
that prints no deprecation warning, and no Hydra method is replaced at run time.

These run in the engine venv (1.3 / 2.3) and in .venv-hydra14 (launch/setup_hydra14.sh)."""

from __future__ import annotations

import importlib.metadata
import json
import sys
import types
import warnings

import pytest
from omegaconf import OmegaConf
from packaging.version import Version

from spyre_hydra.conftree import hydra_adapter
from spyre_hydra.errors import SpyreHydraError


def _no_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    assert [str(w.message).splitlines()[0] for w in caught] == []
    return result


def test_lines_are_the_installed_distributions():
    for line, dist in ((hydra_adapter.hydra_line(), "hydra-core"),
                       (hydra_adapter.omegaconf_line(), "omegaconf")):
        assert line == Version(importlib.metadata.version(dist)).release[:2]
    assert hydra_adapter.hydra_line() in ((1, 3), (1, 4))
    assert hydra_adapter.omegaconf_line() in ((2, 3), (2, 4))


def test_plain_plan_prints_no_warning(h, tmp_path):
    """`spyre-launch model=tiny_granite mode=plan` with every warning shown: stderr stays
    empty on either line (no version_base, register_new_resolver, execution-whitelist or
    plugin-discovery warning)."""
    proc = h.run_cli(["model=tiny_granite", "mode=plan"], tmp_path, PYTHONWARNINGS="always")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert '"option": "tiny_granite"' in proc.stdout


def test_sweep_dir_run_prints_no_warning(h, tmp_path):
    """A sweep that runs jobs (Hydra instantiates the isolation callback) warns about nothing."""
    proc = h.run_cli(["-m", "mode=plan", "device=tp1,tp2", f"hydra.sweep.dir={tmp_path / 's'}"],
                     tmp_path, PYTHONWARNINGS="always")
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stderr.splitlines() if "Warning" in line] == []
    assert sorted(p.name for p in (tmp_path / "s").iterdir() if p.is_dir()) == ["0", "1"]


def test_compose_api_prints_no_warning():
    from spyre_hydra.conftree.compose import compose_launch

    cfg = _no_warnings(lambda: compose_launch(["model=tiny_granite", "mode=plan"]))
    assert cfg.mode == "plan" and cfg.hydra.runtime.choices.model == "tiny_granite"


def test_register_resolver_prints_no_warning():
    name = "spyre_compat_test"
    try:
        _no_warnings(lambda: hydra_adapter.register_resolver(name, lambda x: int(x) * 2))
        assert OmegaConf.create({"a": "${spyre_compat_test:21}"}).a == 42
    finally:
        OmegaConf.clear_resolver(name)


def test_resolved_tree_of_cfg_job_resolve(h, tmp_path):
    """`--cfg job --resolve` (OmegaConf.resolve): selected.env's default is a mapping
    OmegaConf 2.4 resolves too (its oc.create result fails there)."""
    proc = h.run_cli(["--cfg", "job", "--resolve", "model=tiny_granite"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "selected:\n  env: {}\n" in proc.stdout


def test_a_hydra_without_get_args_parser_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "hydra._internal.utils",
                        types.ModuleType("hydra._internal.utils"))
    with pytest.raises(SpyreHydraError, match=r"has no hydra\._internal\.utils\.get_args_parser"
                       r".*Fix: pip install 'hydra-core>=1\.3\.2,<1\.5'"):
        hydra_adapter.launch_args_parser()


def test_hydra_is_not_patched_during_a_launch(monkeypatch):
    """The mode probe is Hydra's own: while the task runs, Hydra's class is as imported."""
    from hydra._internal.hydra import Hydra

    from spyre_hydra.cli import launch

    before, seen = dict(vars(Hydra)), {}
    monkeypatch.setattr(launch, "run", lambda cfg: seen.update(vars(Hydra)))
    launch._main(["model=tiny_granite", "mode=generate"])  # Hydra's run path; no engine
    assert seen == before


@pytest.mark.parametrize("argv, alone", [
    (["model=tiny_granite", "mode=plan"], True),
    (["mode=generate", "mode=plan"], True),
    (["model=hydra_like", "mode=plan"], True),
    (["mode=plan", "mode=generate"], False),
    (["mode=plan", "++mode=serve"], False),
    (["mode='plan'"], False),                      # not recognised: Hydra's path, same answer
    (["model=tiny_granite"], False),               # the tree's default mode is not plan
    (["mode=plan", "+hydra.job.env_set.X=1"], False),
    (["mode=plan", "hydra.run.dir=out"], False),
    (["mode=plan", "hydra/job_logging=none"], False),
    (["--cfg", "job", "mode=plan"], False),
    (["-m", "mode=plan"], False),
])
def test_which_launches_skip_hydras_run_machinery(argv, alone):
    from spyre_hydra.cli.launch import _plan_alone

    assert _plan_alone(argv) is alone


def test_a_hydra_override_takes_hydras_run_path(h, tmp_path):
    """hydra.job.env_set applies around Hydra's job, so a plan with it sees the variable."""
    args = ["model=granite_8b", "device=tp4", "sendnn_version=1.0.3", "mode=plan"]
    plain = h.run_cli(args, tmp_path)
    env_set = h.run_cli(["+hydra.job.env_set.VLLM_DT_MAX_BATCH_TKV_LIMIT=5", *args], tmp_path)
    assert plain.returncode == env_set.returncode == 0, plain.stderr + env_set.stderr
    assert json.loads(plain.stdout)["env"]["VLLM_DT_MAX_BATCH_TKV_LIMIT"] == "131072"
    assert json.loads(env_set.stdout)["env"]["VLLM_DT_MAX_BATCH_TKV_LIMIT"] == "5"
    assert env_set.stderr == ("[WARNING] spyre_hydra.catalog.configurator: kept a user value, "
                              "not using model default: VLLM_DT_MAX_BATCH_TKV_LIMIT=5 ⚠ "
                              "(default: 131072)\n")


def test_plain_plan_logs_like_hydras_job(h, tmp_path):
    """The compose-API plan configures logging from hydra.job_logging, as Hydra's job does."""
    proc = h.run_cli(["model=granite_8b", "device=tp4", "sendnn_version=1.0.3", "mode=plan"],
                     tmp_path, VLLM_DT_MAX_BATCH_TKV_LIMIT="5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ("[WARNING] spyre_hydra.catalog.configurator: kept a user value, "
                           "not using model default: VLLM_DT_MAX_BATCH_TKV_LIMIT=5 ⚠ "
                           "(default: 131072)\n")

"""Every file under conf/ composes with Hydra (through compose_launch) into a valid plan."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from spyre_hydra.conftree.compose import compose_launch
from spyre_hydra.conftree.tree import ConfTree
from spyre_hydra.plan.build import build_plan

CONF = Path(__file__).resolve().parents[1] / "conf"
ALL_FILES = sorted(p.relative_to(CONF).as_posix() for p in CONF.rglob("*.yaml"))
MODEL_OPTIONS = sorted(p.stem for p in (CONF / "model").glob("*.yaml") if p.stem != "auto")
FAMILY_FILES = sorted(p.stem for p in (CONF / "model" / "family").glob("*.yaml"))
PLAIN_GROUPS = ("device", "sendnn_version", "runtime", "backend")
KNOWN_TOP = {"config.yaml", "model", "hydra", *PLAIN_GROUPS}
EXTRA_GROUPS = sorted({f.split("/")[0] for f in ALL_FILES} - KNOWN_TOP)
DEVICES = sorted(p.stem for p in (CONF / "device").glob("*.yaml"))


def _read(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def _model_layouts() -> list[tuple[str, str, str]]:
    """(model option, device option, runtime) for every layout a model file declares."""
    # The fast loader only lists the layouts (test_catalog proves it equals Hydra's
    # compose); every test below composes with Hydra itself.
    from spyre_hydra.catalog.loader import load_entries

    tp_to_device = {_read(CONF / "device" / f"{d}.yaml")["tp_size"]: d for d in DEVICES}
    entries = load_entries(ConfTree.at(None))
    out = []
    for option in MODEL_OPTIONS:
        model = entries[option]["model"]
        for runtime, key in (("cb", "continuous_batching_configs"),
                             ("static", "static_batching_configs")):
            for tp in sorted({e["tp_size"] for e in model[key]}):
                out.append((option, tp_to_device[tp], runtime))
    return out


def _defaults_chain(path: Path) -> list[Path]:
    """Files a model file pulls in through `x@_here_` defaults, read independently of the
    catalog loader (so this test does not trust the code it checks)."""
    chain = []
    for entry in _read(path).get("defaults") or []:
        if isinstance(entry, str) and entry.endswith("@_here_"):
            rel = entry[: -len("@_here_")]
            base = CONF / (rel.lstrip("/") if rel.startswith("/") else
                           f"{path.parent.relative_to(CONF).as_posix()}/{rel}")
            base = base.with_suffix(".yaml")
            chain += [*_defaults_chain(base), base]
    return chain


def _plan(cfg, option=None):
    return build_plan(cfg, option, environ={}, devices=tuple(DEVICES)).to_dict()


def test_every_conf_file_is_covered_by_a_compose_test():
    covered = {"config.yaml"}
    covered |= {f"model/{o}.yaml" for o in [*MODEL_OPTIONS, "auto"]}
    covered |= {f"model/family/{f}.yaml" for f in FAMILY_FILES}
    covered |= {f for f in ALL_FILES if f.split("/")[0] in (*PLAIN_GROUPS, "hydra",
                                                             *EXTRA_GROUPS)}
    assert set(ALL_FILES) == covered
    assert len(MODEL_OPTIONS) >= 24  # 23 catalog models and the tiny local ones


LAYOUTS = _model_layouts() if MODEL_OPTIONS else []


@pytest.mark.parametrize("option,device,runtime", LAYOUTS,
                         ids=[f"{o}-{d}-{r}" for o, d, r in LAYOUTS])
def test_model_composes_on_each_declared_layout(option, device, runtime):
    cfg = compose_launch([f"model={option}", f"device={device}", f"runtime={runtime}",
                          "sendnn_version=1.0.3", "mode=plan"])
    plan = _plan(cfg, option)
    assert plan["option"] == option
    assert plan["tp_size"] == int(device[2:])
    assert plan["runtime"] == runtime
    assert plan["supported"] is True, plan["warnings"]


def test_every_model_has_at_least_one_layout():
    assert {o for o, _, _ in LAYOUTS} == set(MODEL_OPTIONS)


def test_every_family_file_is_used_by_some_model():
    used = set()
    for option in MODEL_OPTIONS:
        chain = _defaults_chain(CONF / "model" / f"{option}.yaml")
        assert chain, f"model/{option}.yaml has no family base"
        assert chain[0] == CONF / "model" / "family" / "base.yaml"
        used |= {p.stem for p in chain}
    assert set(FAMILY_FILES) <= used, f"unused family files: {set(FAMILY_FILES) - used}"


def test_family_values_reach_the_composed_model():
    # The chain is real: granite_8b inherits spyre_tp4's env and granite_33_8b's vocab.
    cfg = compose_launch(["model=granite_8b"])
    assert cfg.model.architecture.vocab_size == 49159
    assert cfg.model.device_configs.tp4.env_vars.FLEX_HDMA_COLLSIZE == 33554432
    assert cfg.model.family == "granite-8b"


def test_auto_placeholder_composes():
    cfg = compose_launch(["model=auto"])
    assert cfg.model.hf_id == "auto"
    assert cfg.model.architecture.model_type == "auto"


@pytest.mark.parametrize("group,option", [(g, p.stem) for g in PLAIN_GROUPS
                                          for p in sorted((CONF / g).glob("*.yaml"))])
def test_group_option_composes(group, option):
    # granite_8b has CB entries at every tp and static ones at tp1 and tp4.
    device = option if group == "device" else "tp4"
    overrides = ["model=granite_8b", f"device={device}", "mode=plan", f"{group}={option}"]
    cfg = compose_launch(overrides)
    assert cfg.hydra.runtime.choices[group] == option
    plan = _plan(cfg, "granite_8b")
    own = _read(CONF / group / f"{option}.yaml")
    if "name" in own:
        assert OmegaConf.select(cfg, f"{group}.name") == own["name"]
    if group == "sendnn_version" and option in ("1.0.2", "1.0.3"):
        assert plan["sendnn_version"] == option
    if group == "backend":
        assert plan["backend"] == option
        assert {k: str(v) for k, v in (own.get("env") or {}).items()}.items() <= plan["backend_env"].items()


def _subset(small, big) -> bool:
    if isinstance(small, dict):
        return isinstance(big, dict) and all(k in big and _subset(v, big[k])
                                             for k, v in small.items())
    return small == big


@pytest.mark.parametrize("rel", [f for f in ALL_FILES if f.startswith("hydra/")])
def test_hydra_group_file_composes(rel):
    from hydra.errors import MissingConfigException

    _, sub, name = rel[:-5].split("/")
    own = _read(CONF / rel)
    bases = [d for d in own.pop("defaults", None) or [] if d != "_self_"]
    try:
        cfg = compose_launch([f"hydra/{sub}={name}"])
    except MissingConfigException as exc:
        # A launcher file extends an optional plugin's config (pip extras sweep / ray).
        missing = [b for b in bases if f"hydra/{sub}/{b}" in str(exc)]
        if not missing:
            raise
        pytest.skip(f"{rel} extends hydra/{sub}/{missing[0]}, whose plugin is not installed")
    node = OmegaConf.to_container(cfg.hydra[sub], resolve=False)
    assert _subset(own, node), f"{rel}'s values are not in the composed hydra.{sub}"
    if sub.endswith("logging"):  # stdout carries only results
        assert node["handlers"]["console"]["stream"] == "ext://sys.stderr"


@pytest.mark.parametrize("rel", [f for f in ALL_FILES if f.split("/")[0] in EXTRA_GROUPS])
def test_extra_group_option_composes(rel):
    group, name = rel[:-5].split("/", 1)
    cfg = compose_launch(["model=tiny_granite", f"+{group}={name}"])
    own = _read(CONF / rel)
    own.pop("defaults", None)
    is_global = "@package _global_" in (CONF / rel).read_text().split("\n", 1)[0]
    where = cfg if is_global else cfg[group]
    assert _subset(own, OmegaConf.to_container(where, resolve=False)), rel


def test_config_yaml_defaults():
    cfg = compose_launch([])
    choices = cfg.hydra.runtime.choices
    assert (choices.model, choices.device, choices.runtime) == ("tiny_granite", "tp1", "cb")
    tree = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("selected", "runtime")}
    assert tree["selected"] == {"env": {}, "num_gpu_blocks_override": None,
                                "max_num_batched_tokens": None}
    assert tree["runtime"]["max_model_len"] == 512

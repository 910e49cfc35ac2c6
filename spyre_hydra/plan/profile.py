"""profile=<name>: a measured layout of the model, applied to the composed tree before checks.

`spyre-hydra tune` writes a model's winners into its model file as `profiles: {throughput:
{...}, latency: {...}, balanced: {...}}`, each holding layout values only (device option,
runtime, shapes or max_model_len/max_num_seqs, engine_args) and its evidence. With
`profile=<name>` the plan puts those values into the composed tree while it is still
unresolved, so the device's `selected.*` settings follow the profile's device, and then
checks the tree like any other. Group choices are the one thing Hydra fixes before the plan
sees the tree, so the device is taken from its own conf file (device/<option>.yaml), exactly
what `device=<option>` composes. What the command line sets itself wins: a `device=`,
`runtime...` or `engine_args.<key>` override keeps its value, and the plan then says the
profile is no longer as measured.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from spyre_hydra.errors import ConfigValidationError, Problem, UnknownOptionError

#: Profile names: also YAML keys and `profile=` values, so plain words only.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def explicit_layout(overrides: Sequence[str]) -> list[str]:
    """The layout keys the command line sets itself (device, runtime..., engine_args.<k>)."""
    out = []
    for text in overrides:
        key = str(text).split("=", 1)[0].lstrip("+~")
        root = key.split(".")[0].split("[")[0]
        if root in ("device", "runtime", "engine_args") and key not in out:
            out.append(key)
    return out


def _wins(key: str, explicit: list[str]) -> bool:
    """Whether a command-line override decides `key` (itself, a parent or a child)."""
    return any(e == key or key.startswith(e + ".") or e.startswith(key + ".") for e in explicit)


def _profiles(cfg) -> Any:
    from omegaconf import OmegaConf

    node = OmegaConf.select(cfg, "model.profiles", default=None)
    if node is None:
        return {}
    # resolved: tune writes its values escaped, so this gives them back as literal text
    value = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
    return value  # a mapping, or what a hand-edited file holds instead (_check says so)


def _check(name: Any, profiles: Mapping, option: str, where: str, source) -> dict:
    from spyre_hydra.catalog.validate import check_dataclass
    from spyre_hydra.conftree.schema import ProfileSpec

    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise UnknownOptionError(f"profile={name!r} is not a profile name (letters, digits, _ "
                                 "and -). Fix: profile=<name>; `spyre-hydra list` shows each "
                                 "model's profiles.")
    if not isinstance(profiles, Mapping):
        raise ConfigValidationError([Problem("model.profiles", f"{profiles!r} must be a "
                                             "mapping of profile "
                                             "names to profiles.", where, "write profiles: "
                                             "{<name>: {device: ..., runtime: ..., id: ...}}, "
                                             "or let spyre-hydra tune write them")],
                                    f"profile {name!r}: model {option}'s profiles are malformed")
    if name not in profiles:
        have = ", ".join(sorted(map(str, profiles)))
        usable = sorted(str(n) for n in profiles if NAME.fullmatch(str(n)))
        unusable = sorted(str(n) for n in profiles if not NAME.fullmatch(str(n)))
        bad = (f"; {', '.join(map(repr, unusable))} cannot be chosen with profile= (rename "
               "it: letters, digits, _ and -)") if unusable else ""
        raise UnknownOptionError(
            f"profile={name!r}: model {option} has " +
            (f"no profile {name!r} (it has {have}, in {where}{bad})" if have else
             "no profiles") + ". Fix: " +
            (f"profile={usable[0]}" if usable else f"rename a profile in {where}" if have else
             "run `spyre-hydra tune ... --out CONF_DIR` and launch with "
             "--config-dir CONF_DIR") + "; `spyre-hydra list` shows them.")
    profile = profiles[name]
    problems = check_dataclass(profile, ProfileSpec, f"model.profiles.{name}", source)
    if not problems and profile["runtime"] not in ("cb", "static"):
        problems.append(Problem(f"model.profiles.{name}.runtime", f"{profile['runtime']!r} is "
                                "not a runtime. Valid: cb, static.", where,
                                "re-run spyre-hydra tune, or correct the profile"))
    if problems:
        raise ConfigValidationError(problems, f"profile {name!r} is malformed")
    return dict(profile)


def apply_profile(cfg, overrides: Sequence[str], choices: dict, files: dict,
                  conf_tree, source=lambda _k: ""):
    """(tree, choices, files, profile info) with the chosen profile applied; the tree as
    given (and no info) without profile=. The given tree is never changed (a sweep reuses
    it): the profile goes into a copy."""
    from omegaconf import OmegaConf, open_dict, read_write

    from spyre_hydra.conftree.conffile import read_conf_file
    from spyre_hydra.io.literal import escape

    name = cfg.get("profile") if "profile" in cfg else None
    if name is None:
        return cfg, choices, files, None
    option = str(choices.get("model") or OmegaConf.select(cfg, "model.hf_id"))
    where = files.get("model", f"conf/model/{option}.yaml")
    # a malformed profile value is the model file's (the default source names no file)
    profile = _check(name, _profiles(cfg), option, where, lambda k: source(k) or where)
    explicit = explicit_layout(overrides)
    choices, files = dict(choices), dict(files)
    cfg = copy.deepcopy(cfg)
    with read_write(cfg), open_dict(cfg):
        if not _wins("device", explicit):
            device = str(profile["device"])
            path = conf_tree.find("device", device)
            if path is None or device not in conf_tree.options("device"):
                raise UnknownOptionError(
                    f"profile={name!r}: device {device!r} of the profile (in {where}) is not a "
                    f"device option here. Valid: {', '.join(conf_tree.options('device'))}."
                    " Fix: add conf/device/<option>.yaml, or pass device=<option> yourself.")
            # the option's own file, as Hydra would compose it (it is conf, not profile data)
            cfg.device = {k: v for k, v in read_conf_file(path).items() if k != "defaults"}
            choices["device"], files["device"] = device, str(path)
        if "runtime" not in explicit:  # runtime=<option> on the command line keeps it all
            runtime = str(profile["runtime"])
            shapes = profile.get("warmup_shapes") if runtime == "static" else []
            values = {"name": runtime,
                      "max_model_len": profile.get("max_model_len") if runtime == "cb"
                      else None,
                      "max_num_seqs": profile.get("max_num_seqs") if runtime == "cb"
                      else None,
                      "warmup_shapes": [list(s) for s in shapes or []]}
            given = OmegaConf.to_container(cfg.runtime, resolve=False)
            # a runtime.<key>=... of the command line wins over the profile's value
            cfg.runtime = {k: given.get(k) if _wins(f"runtime.{k}", explicit) else v
                           for k, v in values.items()}
            found = conf_tree.find("runtime", runtime)
            choices["runtime"] = runtime
            if found is not None:
                files["runtime"] = str(found)
        for key, value in (profile.get("engine_args") or {}).items():
            if not _wins(f"engine_args.{key}", explicit):
                cfg.engine_args[key] = escape(value)
    layout = {k: profile.get(k) for k in ("device", "runtime", "max_model_len", "max_num_seqs",
                                          "warmup_shapes", "engine_args")
              if profile.get(k) not in (None, {}, [])}
    changed = _changed(cfg, profile, explicit)
    info = {"name": name, "id": profile["id"], "file": where, "as_measured": not changed,
            "overridden": changed, "layout": layout,
            "evidence": dict(profile.get("evidence") or {})}
    return cfg, choices, files, info


def profile_sources(source, profile: Mapping | None, overrides: Sequence[str]):
    """`source` (key -> where its value came from) with the keys an applied profile set
    naming the profile's file: the runtime values, unless the command line chose the
    runtime, and the profile's engine_args. Without this a bad value of the profile would
    blame runtime/cb.yaml or conf/config.yaml, which never held it. The command line's own
    values keep naming the command line."""
    if not profile:
        return source
    explicit = explicit_layout(overrides)
    engine = set((profile.get("layout") or {}).get("engine_args") or {})
    mine = f"{profile['file']}, profile {profile['name']!r}"

    def where(key: str) -> str:
        top, _, rest = key.partition(".")
        top, arg = top.split("[")[0], rest.split(".")[0].split("[")[0]
        if not _wins(key, explicit) and ((top == "runtime" and "runtime" not in explicit) or
                                         (top == "engine_args" and arg in engine)):
            return mine
        return source(key)
    return where


def _changed(cfg, profile: Mapping, explicit: list[str]) -> list[str]:
    """The command line's layout overrides that make the run differ from the profile (one
    that repeats the profile's own value changes nothing)."""
    from omegaconf import OmegaConf

    def plain(key: str):
        try:
            value = OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
            return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(
                value) else value
        except Exception:  # noqa: BLE001 - a value that does not resolve is not the profile's
            return object()

    runtime = str(profile["runtime"])
    wanted = {"device.name": profile["device"], "runtime.name": runtime}
    if runtime == "static":
        wanted["runtime.warmup_shapes"] = [list(s) for s in profile.get("warmup_shapes") or []]
    else:
        wanted.update({"runtime.max_model_len": profile.get("max_model_len"),
                       "runtime.max_num_seqs": profile.get("max_num_seqs")})
    engine = profile.get("engine_args") or {}
    out = []
    for key in explicit:
        if key.startswith("engine_args."):
            name = key.split(".", 2)[1]
            differs = name not in engine or plain(f"engine_args.{name}") != engine[name]
        else:
            differs = any(plain(k) != v for k, v in wanted.items() if _wins(k, [key]))
            differs = differs or not any(_wins(k, [key]) for k in wanted)
        if differs:
            out.append(key)
    return out


__all__ = ["NAME", "apply_profile", "explicit_layout", "profile_sources"]

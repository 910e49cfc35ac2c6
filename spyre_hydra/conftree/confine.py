"""What one file of a user conf dir may set: its own group's package, nothing of Hydra's.

conftree/trust.py runs these rules on every YAML file of a user root before Hydra composes
(README "Safety"). A `@package` header is absolute in Hydra (tests/hostile/
test_confdata_hostile.py shows where each form lands), a defaults package is relative to the
including file unless it names `_global_`, and `override` changes another group's choice.
vLLM's arguments that run code (conftree/codeargs.py) are refused wherever a file's keys can
become engine args, unless SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1.
"""

from __future__ import annotations

import re
from pathlib import Path

from spyre_hydra.conftree.defaults import read_defaults
from spyre_hydra.errors import Problem

#: conftree.roots.GROUPS (roots calls trust, which calls this module: no import back)
GROUPS = ("model", "device", "sendnn_version", "runtime", "backend", "sweep")
_FIX_HEADER = "delete the `# @package` line: a {group} file sets {group}.* only"
_OTHERS = "put top-level settings and hydra.* on the command line instead"


def excerpt(value, limit: int = 40) -> str:
    """`value` as a quoted, escaped string of at most `limit` characters (file text in a
    message never reaches the terminal raw, nor at length)."""
    text = value if isinstance(value, str) else str(value)
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _own(package: str | None, group: str | None) -> bool:
    """A header that keeps the file inside its group's package."""
    if package is None:
        return True
    if group is None:
        return False
    head = package.split(".")[0]
    return head in ("_group_", group)


#: Env names that make a process load other code: the dynamic loader, Python and shells, and
#: vLLM's and torch's own doors to code: a logging config (dictConfig builds the `()`
#: factories it names), and the dirs compiled graphs, kernels, extensions and remote-code
#: modules are loaded from and run (a conf dir could point them at files it prepared).
_CODE_ENV = ("PATH", "BASH_ENV", "ENV", "VLLM_LOGGING_CONFIG_PATH", "VLLM_CACHE_ROOT",
             "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "TORCH_EXTENSIONS_DIR",
             "HF_MODULES_CACHE",
             # the defaults those dirs and compilers come from: a cache root under
             # XDG_CACHE_HOME/HOME/HF_HOME/TRITON_HOME, Python's user site (HOME), the C and
             # C++ compilers inductor and triton run
             "XDG_CACHE_HOME", "HOME", "HF_HOME", "TRITON_HOME", "CC", "CXX")
_CODE_ENV_PREFIXES = ("LD_", "DYLD_", "PYTHON")


def _code_env(path: Path, data: dict, group: str | None) -> list[Problem]:
    """Env vars a conf file may not set: LD_PRELOAD, PYTHONPATH and the like would make the
    engine (or vLLM's server) run code the conf dir names."""
    found = []
    if group == "backend":
        found = [("env", name) for name in _keys(data.get("env"))]
    elif group == "model":
        devices = data.get("device_configs")
        for device, settings in (devices.items() if isinstance(devices, dict) else ()):
            env = settings.get("env_vars") if isinstance(settings, dict) else None
            found += [(f"device_configs.{device}.env_vars", name) for name in _keys(env)]
    return [Problem(f"{path}: {where}.{excerpt(name)}", "names a variable that makes a "
                    "process load code (the dynamic loader's, Python's, a shell's, or a logging "
                    "config or compiled-code dir of vLLM's or torch's).", "",
                    "set it yourself in the environment if you mean it, not in a conf file")
            for where, name in found
            if name in _CODE_ENV or name.startswith(_CODE_ENV_PREFIXES)]


def _keys(node) -> list[str]:
    return [str(k) for k in node] if isinstance(node, dict) else []


def _engine_nodes(data, inside: bool):
    """(where, node) of every `engine_args` mapping in a file, at any depth: defaults
    packages and `_here_` merges can land any of them in backend.engine_args or a profile.
    `inside`: the file is under an engine_args/ dir, so its own keys are engine args."""
    if inside:
        yield "", {k: v for k, v in data.items() if k != "defaults"}
    stack, seen = [("", data)], set()
    while stack:
        where, node = stack.pop()
        if id(node) in seen:  # YAML aliases can share, even nest, nodes
            continue
        seen.add(id(node))
        items = node.items() if isinstance(node, dict) else enumerate(
            node if isinstance(node, list) else ())
        for key, value in items:
            at = f"{where}.{key}" if where else str(key)
            if key == "engine_args":
                yield at, value
            stack.append((at, value))


def _code_args(path: Path, data: dict, inside: bool, preset: bool = False) -> list[Problem]:
    """vLLM arguments that import or run code (conftree/codeargs.py's table) this file sets
    in engine args, a sweep preset's axes included: refused unless
    SPYRE_HYDRA_ALLOW_CUSTOM_CODE=1 (the caller asks)."""
    from spyre_hydra.conftree.codeargs import ALLOW_CODE_ENV, code_args, text_names

    hydra = data.get("hydra") if preset else None
    sweeper = hydra.get("sweeper") if isinstance(hydra, dict) else None
    params = sweeper.get("params") if isinstance(sweeper, dict) else None
    found = []  # (where, the argument or None, value, why)
    for where, node in _engine_nodes(data, inside):
        if isinstance(node, str) and "${" in node:
            found.append((where, None, node, "an interpolation: the engine args it brings are "
                          "not in the file"))
        elif isinstance(node, dict):
            found += [(f"{where}.{k}" if where else k, k, v, why)
                      for k, v, why in code_args(node)]
    for entry in read_defaults(data):
        if entry.package and "engine_args" in entry.package.split("."):
            found.append((f"defaults entry {entry.path}", None, entry.package, "its package "
                          "makes another file's keys engine args, which this check reads "
                          "only where a file writes them"))
    for key, value in (params.items() if isinstance(params, dict) else ()):
        parts = re.split(r"[./]", str(key).strip().lstrip("+~").strip())
        if "engine_args" in parts:
            rest = ".".join(parts[parts.index("engine_args") + 1:])
            found += [(f"hydra.sweeper.params.{key}", k, value, why) for k, _, why in (
                code_args({rest: value}) if rest else
                [(n, value, "it sets " + n + ", which names code") for n in text_names(value)])]
    fix = (f"export {ALLOW_CODE_ENV}=1 if you trust this conf dir's code, or type "
           "{} on the command line, which stays allowed")
    return [Problem(f"{path}: {where}", f"{excerpt(value)}: {why}.", "", fix.format(
        f"engine_args.{arg}=..." if arg else "those engine args"))
            for where, arg, value, why in found]


def _sweep_preset(path: Path, data: dict) -> list[Problem]:
    """A `_global_` sweep preset: `sweep:` and `hydra.sweeper.params` whose keys are the
    command line's own (never hydra.*), nothing else."""
    where = str(path)
    problems = [Problem(f"{where}: {excerpt(key)}", "a sweep preset sets only sweep: and "
                        "hydra.sweeper.params.", "", "move it to the command line")
                for key in data if key not in ("sweep", "hydra", "defaults")]
    if any(str(e) != "_self_" for e in data.get("defaults") or []):
        problems.append(Problem(f"{where}: defaults", "a `_global_` sweep preset has no "
                                "defaults list (its entries would land at the top of the "
                                "tree).", "", "remove the defaults list"))
    hydra = data.get("hydra")
    if hydra is None:
        return problems
    sweeper = hydra.get("sweeper") if isinstance(hydra, dict) else None
    params = sweeper.get("params") if isinstance(sweeper, dict) else None
    if (not isinstance(hydra, dict) or set(hydra) != {"sweeper"} or not isinstance(sweeper, dict)
            or set(sweeper) != {"params"} or not isinstance(params, dict)):
        problems.append(Problem(f"{where}: hydra", "a sweep preset may set "
                                "hydra.sweeper.params only (callbacks, run and sweep dirs, "
                                "env_set and launchers come from the shipped tree and the "
                                "command line).", "", _OTHERS))
        return problems
    for key in params:
        if str(key).strip().lstrip("+~").strip().startswith("hydra"):
            problems.append(Problem(f"{where}: hydra.sweeper.params.{excerpt(key)}",
                                    "a sweep preset cannot sweep Hydra's own settings.", "",
                                    _OTHERS))
    return problems


def _defaults(path: Path, data: dict, group: str | None) -> list[Problem]:
    problems = []
    for entry in read_defaults(data):
        where = f"{path}: defaults entry {excerpt(entry.path)}"
        if entry.override:
            problems.append(Problem(where, "an `override` in a conf dir file changes another "
                                    "group's choice.", "", "choose options on the command "
                                    "line (device=tp4), or drop the entry"))
        if entry.package and "_global_" in entry.package.split("."):
            problems.append(Problem(where, f"its package @{excerpt(entry.package)} puts keys "
                                    f"outside {group or 'its including file'}.", "",
                                    "use @_here_ (merge into this file) or drop the package"))
        if any(part.startswith(".") for part in entry.path.split("/") if part):
            problems.append(Problem(where, "names a file in a hidden or parent dir, which "
                                    "this check does not read.", "", "keep bases inside "
                                    "the conf dir's group folders"))
    return problems


def file_problems(root: Path, path: Path, shipped: Path | None = None,
                  allow_code: bool = False) -> list[Problem]:
    """Why this user file would reach past its own group or set vLLM code arguments (unless
    `allow_code`) ([] when it does not, or when it is byte for byte the shipped file at the
    same place: a copy of the shipped tree)."""
    found = _problems(root, path, allow_code)
    if found and shipped is not None and _same(path, shipped / path.relative_to(root)):
        return []
    return found


def _same(path: Path, twin: Path) -> bool:
    from spyre_hydra.io.reading import InputError, read_bytes_bounded

    try:
        return twin.is_file() and read_bytes_bounded(path) == read_bytes_bounded(twin)
    except InputError:
        return False


def _problems(root: Path, path: Path, allow_code: bool = False) -> list[Problem]:
    from spyre_hydra.conftree.conffile import read_conf_file
    from spyre_hydra.conftree.hydra_adapter import config_header
    from spyre_hydra.errors import ConfigValidationError
    from spyre_hydra.io.reading import InputError, read_text_bounded

    parts = path.relative_to(root).parts
    group = parts[0] if len(parts) > 1 and parts[0] in GROUPS else None
    if parts == ("config.yaml",):
        return [Problem(str(path), "a conf dir's own config.yaml would replace spyre_hydra's "
                        "primary config (its defaults list and Hydra settings).", "",
                        "remove or rename it; a conf dir holds group files (model/, device/ "
                        "...), and top-level values go on the command line")]
    if parts[0] == "hydra":
        return [Problem(str(path), "a conf dir cannot replace Hydra's own configs (logging, "
                        "help, sweeper, launcher, callbacks).", "",
                        "remove it; choose hydra/... options on the command line")]
    try:
        data = read_conf_file(path)
        text = read_text_bounded(path, what="conf file")
        header = config_header(text)
        if config_header(text[:512]) != header:  # Hydra reads the header from 512 chars
            raise ValueError("it is cut by the first 512 characters, which Hydra reads")
    except ConfigValidationError as error:
        return error.problems
    except (InputError, ValueError) as exc:
        return [Problem(str(path), f"its header cannot be read ({excerpt(exc, 80)}).", "",
                        "write `key: value` lines only")]
    package = header.get("package")
    inside = "engine_args" in parts[:-1]
    if group == "sweep" and package == "_global_":
        return _sweep_preset(path, data) + ([] if allow_code else _code_args(
            path, data, inside, preset=True))
    problems = [] if _own(package, group) else [Problem(
        f"{path}: # @package {excerpt(package)}", f"puts the file's keys outside "
        f"{group + '.*' if group else 'the file that includes it'}.", "",
        _FIX_HEADER.format(group=group or "base"))]
    problems += _defaults(path, data, group) + _code_env(path, data, group)
    problems += [] if allow_code else _code_args(path, data, inside)
    for key in data:
        if key == "hydra" or (key in GROUPS and key != group):
            problems.append(Problem(
                f"{path}: {key}", f"a {group or 'base'} file cannot set "
                f"{'Hydra' if key == 'hydra' else 'the ' + str(key) + ' group'}'s keys.", "",
                "remove it; Hydra's settings come from the shipped tree and the command line "
                "(hydra.run.dir=...)" if key == "hydra" else
                f"put {key}.* in a {key}/ file or on the command line"))
    return problems


__all__ = ["GROUPS", "excerpt", "file_problems"]

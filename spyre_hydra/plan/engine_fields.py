"""engine_args checked at plan time against vLLM's arguments, without importing vLLM.

vllm_engine_args.json (beside this module) lists what vLLM 0.28's EngineArgs and
`vllm serve` accept: each name with the kinds of value it takes. It is generated from the
installed vLLM (python launch/gen_engine_args.py) and a test keeps it equal to it, so a key
vLLM does not know (a typo: max_num_seq) or a value of the wrong kind
(max_num_batched_tokens=abc) is refused with the plan's other problems, not seconds later
by vLLM in the engine process.

When the installed vLLM is another release than the table's, its arguments may differ and
vLLM decides at engine time: the same findings are then warnings in the plan (errors with
strict=true).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spyre_hydra.errors import ConfigValidationError, EngineError, Problem

TABLE = Path(__file__).with_name("vllm_engine_args.json")

_NAMES = {"bool": "a bool (true/false)", "int": "an int", "float": "a float",
          "str": "a string", "list": "a list", "dict": "a mapping", "none": "null"}
_SHORT = {"bool": "true|false", "int": "int", "float": "float", "str": "text",
          "list": "[a,b]", "dict": "{k: v}"}
#: serve options the tree owns: the plan's serve.host / serve.port replace them.
SERVE_OWNED = {"host": "serve.host=127.0.0.1", "port": "serve.port=8000"}


def flag_like(value: Any) -> str | None:
    """The first text in `value` (itself, or an item of a list) that `vllm serve`'s parser
    would read as an option rather than a value: `--trust-remote-code` as an item of
    served_model_name becomes its own flag. Negative numbers are values."""
    for item in value if isinstance(value, (list, tuple)) else [value]:
        text = item.strip() if isinstance(item, str) else ""
        if text.startswith("-") and not text.lstrip("-")[:1].isdigit() and text != "-":
            return item
    return None


@functools.lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    """The shipped table (read once per process)."""
    return json.loads(TABLE.read_text(encoding="utf-8"))


def installed_vllm() -> str | None:
    """The installed vLLM's release ("0.28.0", local tags such as +cpu dropped), from
    package metadata (no import); None when vLLM is not installed."""
    import importlib.metadata

    from spyre_hydra.conftree.stamp import DISTRIBUTIONS

    for name in DISTRIBUTIONS["vllm"]:
        try:
            return importlib.metadata.version(name).split("+")[0]
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    return "dict" if isinstance(value, Mapping) else "any"


def _accepts(spec: Mapping[str, list], value: Any, as_text: bool = False) -> bool:
    """Whether a field takes the value. `as_text`: a `vllm serve`-only option, which reaches
    vLLM as command-line text only (engine/run.py serve_argv), so a number is fine for a
    string and one value for a list, as `--api-key x` is."""
    kinds, kind = spec["kinds"], kind_of(value)
    if "any" in kinds or kind in kinds or (kind == "int" and "float" in kinds):
        return True
    if as_text and kind in ("str", "int", "float") and ("list" in kinds or
                                                        ("str" in kinds and kind != "str")):
        return True
    # True == 1 in Python: a choice matches only a value of its own type
    return any(type(c) is type(value) and c == value for c in spec.get("choices", ()))


def expected(spec: Mapping[str, list]) -> str:
    """What a field takes, in words: 'an int or null', 'one of: auto, half, ...'."""
    kinds = [_NAMES[k] for k in spec["kinds"] if k in _NAMES]
    if spec.get("choices"):
        kinds.insert(0, "one of: " + ", ".join(map(_shown, spec["choices"])))
    return " or ".join(kinds) or "any value"


def _placeholder(spec: Mapping[str, list]) -> str:
    """The fix's value: `<int>`, `<true|false>`, `<auto|half|...>`."""
    names = [str(c) for c in spec.get("choices", ())]
    names = names if len(names) <= 6 else [*names[:4], "..."]  # the message lists them all
    names += [_SHORT[k] for k in spec["kinds"] if k in _SHORT]
    return "<" + "|".join(names) + ">"


def _shown(value: Any) -> str:
    """A value as the message shows it: a string quoted, the rest as YAML/JSON spell it."""
    return repr(value) if isinstance(value, str) else json.dumps(value, default=str)


def _text(value: Any) -> str:
    """A value as an override would spell it."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _unknown(name: str, value: Any, known, version: str, key: str, source) -> Problem:
    import difflib  # only for a name that needs it

    from spyre_hydra.plan.runtime import RESERVED

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    best = close[0] if close else None
    fix = (f"drop it and use {RESERVED[best].replace('<int>', _text(value))}"
           if best in RESERVED else f"engine_args.{best}={_text(value)}" if best else
           "drop it, or use a name `vllm serve --help` lists (with _ for -)")
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return Problem(key, f"{_shown(value)}: {name!r} is not an argument of vLLM {version} (an "
                   f"EngineArgs field or a `vllm serve` option).{hint}", source(key), fix)


def _wrong(name: str, value: Any, spec, version: str, key: str, source) -> Problem:
    import difflib

    choices = [str(c) for c in spec.get("choices", ())]
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5) \
        if isinstance(value, str) else []
    what = ("is not one of its choices" if choices and kind_of(value) == "str" else
            f"is {_NAMES.get(kind_of(value), 'a value of another kind')}")
    return Problem(key, f"{_shown(value)} {what}: vLLM {version}'s {name} takes "
                   f"{expected(spec)}.", source(key),
                   f"{key}={close[0] if close else _placeholder(spec)}")


def flag_problems(args: Mapping[str, Any], where: Mapping[str, str], source) -> list[Problem]:
    """Values that `vllm serve` would read as options of their own (see flag_like): an
    error whatever vLLM is installed, since its parser turns them into flags."""
    problems = []
    for name, value in args.items():
        flag = flag_like(value)
        if flag is not None:
            key = f"{where.get(name, 'engine_args')}.{name}"
            option = str(flag).strip().lstrip("-").split("=")[0].replace("-", "_")
            problems.append(Problem(key, f"{_shown(value)}: {flag!r} would reach `vllm serve` "
                                    "as an option of its own, not as a value.", source(key),
                                    f"set that option under its own name (engine_args.{option}"
                                    "=...), or drop the leading '-'"))
    return problems


def value_problems(args: Mapping[str, Any], where: Mapping[str, str], source,
                   serve: bool = True) -> list[Problem]:
    """Problems of engine args: unknown names (with the close ones and the fix) and values of
    the wrong kind. `where[k]` is the key's prefix (engine_args or backend.engine_args);
    `serve`: whether `vllm serve`'s own options count as known."""
    data = table()
    engine, version = data["engine"], data["vllm"]
    known = {**(data["serve"] if serve else {}), **engine}
    problems = []
    for name, value in args.items():
        key = f"{where.get(name, 'engine_args')}.{name}"
        spec = known.get(name)
        if name in SERVE_OWNED:
            problems.append(Problem(key, f"{_shown(value)}: the server's {name} comes from "
                                    f"{SERVE_OWNED[name].split('=')[0]}, which replaces it.",
                                    source(key), f"drop it and use {SERVE_OWNED[name]}"))
        elif spec is None:
            problems.append(_unknown(name, value, known, version, key, source))
        elif value is not None and not _accepts(spec, value, name not in engine):
            problems.append(_wrong(name, value, spec, version, key, source))  # null: default
    return problems


def check_engine_args(tree: Mapping, source, strict: bool) -> list[str]:
    """The user's engine_args (the backend's, then the top level's): the keys the tree owns
    (runtime.RESERVED) and the rest against the table, every problem in one
    ConfigValidationError; the table's findings are warnings instead when the installed vLLM
    is another release than the table's and not strict. Nothing is read for empty args."""
    from spyre_hydra.plan.runtime import RESERVED, check_reserved

    backend = dict((tree.get("backend") or {}).get("engine_args") or {})
    top = dict(tree.get("engine_args") or {})
    args = {k: v for k, v in {**backend, **top}.items() if k not in RESERVED}
    try:
        check_reserved(top, source)
        reserved: list[Problem] = []
    except ConfigValidationError as error:
        reserved = error.problems
    where = {k: "engine_args" if k in top else "backend.engine_args" for k in args}
    reserved += flag_problems(args, where, source)
    problems = value_problems(args, where, source) if args else []
    if not problems:
        if reserved:
            raise ConfigValidationError(reserved)
        return []
    version, installed = table()["vllm"], installed_vllm()
    if installed is None or installed == version:
        raise ConfigValidationError(reserved + problems)
    note = (f" (checked against vLLM {version}'s arguments; the installed vLLM {installed} "
            "may differ, and decides when the engine starts)")
    problems = [Problem(p.key, p.message + note, p.source, p.fix) for p in problems]
    if strict or reserved:
        raise ConfigValidationError(reserved + problems)
    return [p.render() + " strict=true makes this an error." for p in problems]


def check_serve_only(engine_args: Mapping[str, Any], mode: str) -> None:
    """Engine stage: a mode that builds EngineArgs without `vllm serve`'s parser refuses the
    serve-only options (the plan allows them: serve, bench and export-serve pass them)."""
    if installed_vllm() not in (None, table()["vllm"]):
        return  # another vLLM: its own check (spyre_hydra.engine.build) says it
    serve = [k for k in engine_args if k in table()["serve"] and k not in table()["engine"]]
    if serve:
        raise EngineError(f"engine_args {', '.join(serve)}: `vllm serve` option(s), not "
                          f"EngineArgs fields; mode={mode} does not start vLLM's server. "
                          "Fix: mode=serve, or drop them.")


__all__ = ["SERVE_OWNED", "TABLE", "check_engine_args", "check_serve_only", "expected",
           "installed_vllm", "kind_of", "table", "value_problems"]

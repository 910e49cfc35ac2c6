"""What the installed vLLM accepts as engine_args, as plain data for the plan-time check.

The plan is built without vLLM, so spyre_hydra/plan/vllm_engine_args.json carries this
table; launch/gen_engine_args.py writes it from here and a test (engine marker) holds the
shipped copy equal to what the installed vLLM says, so an upgrade that adds, drops or
retypes a field fails CI instead of drifting.

Each name maps to the kinds of value a YAML/override can give it (bool, int, float, str,
list, dict, none; "any" when the type says nothing checkable) and, for a Literal-only
field, its choices. Two sections: `engine` (the fields of EngineArgs: every mode) and
`serve` (the other options of `vllm serve`'s parser: frontend, AsyncEngineArgs; mode=serve,
mode=bench and export-serve pass them).
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any, Literal

#: The table's format; bumped when the plan-side reader must change with it.
FORMAT = 1

_PLAIN = {bool: "bool", int: "int", float: "float", str: "str", type(None): "none",
          list: "list", tuple: "list", set: "list", frozenset: "list", dict: "dict"}


def vllm_version() -> str:
    """The installed vLLM's release as package metadata names it (what the plan compares)."""
    from spyre_hydra.plan.engine_fields import installed_vllm

    return installed_vllm() or "not installed"


def _field_type(cls: type, field: dataclasses.Field) -> Any:
    """The field's annotation as a type; a string one (a TYPE_CHECKING-only name) is
    evaluated in its module with the names vLLM imports for type checking only."""
    hint = field.type
    if not isinstance(hint, str):
        return hint
    import sys

    namespace = dict(vars(sys.modules[cls.__module__]))
    if "QuantizationConfigArgs" in hint:
        from vllm.config.quantization import QuantizationConfigArgs

        namespace["QuantizationConfigArgs"] = QuantizationConfigArgs
    return eval(hint, namespace)  # noqa: S307 - vLLM's own annotation text, not user data


def describe(hint: Any) -> dict[str, list]:
    """{"kinds": [...], "choices": [...]} for one annotation (vLLM's own flattening of
    Annotated and unions, so the table reads a type as vLLM's parser does)."""
    from vllm.engine.arg_utils import get_type_hints as flatten

    kinds: set[str] = set()
    choices: list = []
    for part in flatten(hint):
        origin = typing.get_origin(part) or part
        if origin is Literal:
            choices += [c for c in typing.get_args(part) if c not in choices]
        elif part is Any:
            kinds.add("any")
        elif origin in _PLAIN:
            kinds.add(_PLAIN[origin])
        elif isinstance(part, type) and issubclass(part, enum.Enum):
            # by name (a string) or, for an IntEnum such as OptimizationLevel, by value
            kinds |= {"str"} | {_PLAIN.get(type(m.value), "any") for m in part}
        elif dataclasses.is_dataclass(part):
            kinds |= {"dict", "str"}  # a mapping, or its JSON text (vllm serve's form)
        # type[...], Callable and torch.dtype: no YAML value is one; the union's other
        # members (str, dict) say what a config can give
    if choices and "str" in kinds:  # any string goes: the literals are only examples
        choices = []
    if not kinds and not choices:
        kinds.add("any")
    out: dict[str, list] = {"kinds": sorted(kinds)}
    if choices:
        out["choices"] = choices
    return out


def _fields(cls: type) -> dict[str, dict[str, list]]:
    return {f.name: describe(_field_type(cls, f)) for f in dataclasses.fields(cls)}


def _action_kinds(action) -> dict[str, list]:
    """Kinds of a plain argparse option of the serve parser (not from a dataclass)."""
    import argparse

    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction,
                           argparse.BooleanOptionalAction)):
        return {"kinds": ["bool"]}
    kind = {int: "int", float: "float"}.get(action.type, "str")
    return {"kinds": sorted({kind, "none"} if action.default is None else {kind})}


def serve_options() -> dict[str, dict[str, list]]:
    """`vllm serve`'s options that are not EngineArgs fields, as the serve parser that
    mode=serve uses (spyre_hydra.engine.run.serve_args) has them."""
    from vllm.engine.arg_utils import AsyncEngineArgs, EngineArgs
    from vllm.entrypoints.cli.serve import ServeSubcommand
    from vllm.entrypoints.openai.cli_args import FrontendArgs
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(prog="vllm")
    serve = ServeSubcommand().subparser_init(parser.add_subparsers(dest="subparser"))
    typed = {**_fields(FrontendArgs), **_fields(AsyncEngineArgs)}
    engine = {f.name for f in dataclasses.fields(EngineArgs)}
    out = {}
    for action in serve._actions:
        if not action.option_strings or action.dest in engine or action.dest == "help":
            continue  # the positional model_tag is spyre_hydra's engine_args.model
        out[action.dest] = typed.get(action.dest) or _action_kinds(action)
    return dict(sorted(out.items()))


def engine_args_table() -> dict[str, Any]:
    """The whole table (imports vLLM)."""
    from vllm.engine.arg_utils import EngineArgs

    return {"format": FORMAT, "vllm": vllm_version(),
            "generated_by": "python launch/gen_engine_args.py",
            "engine": dict(sorted(_fields(EngineArgs).items())), "serve": serve_options()}


__all__ = ["FORMAT", "describe", "engine_args_table", "serve_options", "vllm_version"]

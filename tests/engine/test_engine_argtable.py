"""The shipped table of vLLM's engine arguments (spyre_hydra/plan/vllm_engine_args.json)
equals what the installed vLLM says, so a vLLM upgrade that adds, drops or retypes a field
fails here until the table is regenerated (launch/gen_engine_args.py). Each case runs in a
fresh interpreter, as the other engine tests do (vLLM picks its platform once per process)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "launch" / "gen_engine_args.py"
SHIPPED = REPO / "spyre_hydra" / "plan" / "vllm_engine_args.json"

needs_vllm = pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                reason="needs vllm (the engine venv)")
pytestmark = [pytest.mark.engine, needs_vllm]


def _run(args, probe_env, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          env=probe_env(), timeout=300, cwd=REPO, **kwargs)


def _drift(shipped: dict, now: dict) -> str:
    out = [f"vllm {shipped.get('vllm')} -> {now.get('vllm')}"]
    for section in ("engine", "serve"):
        old, new = shipped.get(section, {}), now.get(section, {})
        out += [f"{section}: added {sorted(set(new) - set(old))}",
                f"{section}: removed {sorted(set(old) - set(new))}",
                f"{section}: changed {sorted(k for k in set(old) & set(new) if old[k] != new[k])}"]
    return "\n".join(out)


def test_the_shipped_table_is_the_installed_vllms(probe_env):
    proc = _run([str(GENERATOR)], probe_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    now, shipped = json.loads(proc.stdout), json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert now == shipped, ("the installed vLLM's arguments differ from the shipped table; "
                            f"regenerate it with `python {GENERATOR.relative_to(REPO)} > "
                            f"{SHIPPED.relative_to(REPO)}` and review the diff:\n"
                            + _drift(shipped, now))
    assert proc.stdout == SHIPPED.read_text(encoding="utf-8")  # byte for byte: the same render


def test_the_check_mode_says_whether_the_table_is_current(probe_env, tmp_path):
    proc = _run([str(GENERATOR), "--check"], probe_env)
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr[-2000:]
    assert proc.stderr.rstrip().endswith("vllm_engine_args.json: up to date")


_DESCRIBE = r"""
import enum, json, typing
from dataclasses import dataclass
from typing import Any, Literal
from spyre_hydra.engine.argtable import describe

class Level(enum.IntEnum):
    O0 = 0

@dataclass
class Sub:
    x: int = 0

hints = {"int|None": int | None, "bool": bool, "lit": Literal["a", "b"],
         "lit|str": Literal["a"] | str, "lit|None": Literal[1, 8] | None,
         "list[str]|str": list[str] | str, "dict": dict[str, Any], "Any": Any,
         "intenum": Level, "dataclass": Sub | None, "callable|dict":
         typing.Callable[[Any], Any] | dict[str, Any], "type": type[object]}
print("RESULT=" + json.dumps({k: describe(v) for k, v in hints.items()}))
"""


def test_describe_reads_a_type_as_the_kinds_a_config_can_give(probe_env):
    proc = _run(["-c", _DESCRIBE], probe_env)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT=")]
    assert line, proc.stderr[-3000:]
    assert json.loads(line[0][len("RESULT="):]) == {
        "int|None": {"kinds": ["int", "none"]}, "bool": {"kinds": ["bool"]},
        "lit": {"kinds": [], "choices": ["a", "b"]}, "lit|str": {"kinds": ["str"]},
        "lit|None": {"kinds": ["none"], "choices": [1, 8]},
        "list[str]|str": {"kinds": ["list", "str"]}, "dict": {"kinds": ["dict"]},
        "Any": {"kinds": ["any"]}, "intenum": {"kinds": ["int", "str"]},
        "dataclass": {"kinds": ["dict", "none", "str"]},
        "callable|dict": {"kinds": ["dict"]}, "type": {"kinds": ["any"]}}

"""Print the plan-time table of vLLM's engine arguments, from the installed vLLM.

    /work/main/.venv-engine/bin/python launch/gen_engine_args.py > spyre_hydra/plan/vllm_engine_args.json
    python launch/gen_engine_args.py --check    # exit 1 when the shipped table differs

Run it in the engine venv after a vLLM upgrade (tests/engine/test_engine_argtable.py fails
until then) and review the diff. Printed, not written: the shipped table is source, and
the project's writer only replaces files it wrote itself.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's spyre_hydra
# vLLM logs to stdout by default; the table is the only thing printed there
os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")


def render(data: dict) -> str:
    """JSON with one line per argument, so a vLLM upgrade reads as a diff of names."""
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            rows = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
            lines.append(f" {json.dumps(key)}: {{\n" + ",\n".join(rows) + "\n }")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(argv: list[str]) -> int:
    from spyre_hydra.engine.argtable import engine_args_table
    from spyre_hydra.plan.engine_fields import TABLE

    text = render(engine_args_table())
    if argv == ["--check"]:
        same = TABLE.is_file() and TABLE.read_text(encoding="utf-8") == text
        state = "up to date" if same else ("differs from the installed vLLM: re-run "
                                           "without --check and commit the output")
        print(f"{TABLE}: {state}", file=sys.stderr)
        return 0 if same else 1
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

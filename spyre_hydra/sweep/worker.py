"""The fresh process an engine sweep job runs in.

    python -m spyre_hydra.sweep.worker OUT.json  < {"plan": <LaunchPlan.to_dict()>,
                                                   "mode": <its ModeSpec>, "sys_path": [...]}

It runs the plan's mode (the mode table's runner: run_mode for the engine modes) and
writes {"result": <its return>} or {"error": "..."} to OUT.json atomically. The environment
is prepared by the parent (the user's plus the job's settings) before this interpreter
imports anything; the plan carries its conf roots, so no Hydra state is needed here.
"""

from __future__ import annotations

import json
import sys
import traceback


def main(argv: list[str] | None = None) -> int:
    """Entry point: read the job from stdin, run it, write the outcome file."""
    from spyre_hydra.conftree.modes import ModeSpec, mode_spec, register_mode
    from spyre_hydra.conftree.resolvers import register_resolvers
    from spyre_hydra.errors import SpyreHydraError
    from spyre_hydra.plan.launchplan import LaunchPlan
    from spyre_hydra.sweep.results import write_json_atomic

    argv = sys.argv[1:] if argv is None else argv
    out = argv[0]
    payload = json.loads(sys.stdin.read())
    register_resolvers()  # the catalog's model files may use spyre.* resolvers
    # the parent's path after this interpreter's own: the module of a mode registered there
    sys.path.extend(p for p in payload.get("sys_path") or () if p not in sys.path)
    try:
        if payload.get("mode"):  # the parent's spec of the mode (it may be registered at run time)
            register_mode(ModeSpec(**payload["mode"]))
        plan = LaunchPlan.from_dict(payload["plan"])  # the JSON edge
        value = mode_spec(plan.mode).run(plan)
        write_json_atomic(out, {"result": json.loads(json.dumps(value, default=str))})
        return 0
    except SpyreHydraError as error:
        write_json_atomic(out, {"error": str(error)})
        return error.exit_code
    except Exception as error:  # the parent records it as the job's failure
        traceback.print_exc()
        write_json_atomic(out, {"error": f"{type(error).__name__}: {error}"})
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

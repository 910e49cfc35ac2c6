"""The fresh process an engine sweep job runs in.

    python -m spyre_hydra.sweep.worker OUT.json  < {"plan": ..., "cfg": ...}

It calls spyre_hydra.engine.run.run_mode(plan, cfg) and writes {"result": <its return>} or
{"error": "..."} to OUT.json atomically. The environment is prepared by the parent (the
user's plus the job's settings) before this interpreter imports anything.
"""

from __future__ import annotations

import json
import sys
import traceback

from spyre_hydra.io.literal import escape


def _set_hydra_config(node) -> None:
    """Give this process the job's HydraConfig, as the job had in the parent."""
    if not node:
        return
    from hydra.conf import HydraConf
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    try:
        hydra = OmegaConf.merge(OmegaConf.structured(HydraConf), node)
        HydraConfig.instance().set_config(OmegaConf.create({"hydra": hydra}))
    except Exception as error:  # the engine then falls back to the shipped conf tree
        print(f"spyre-launch: sweep worker: HydraConfig not restored: {error}",
              file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point: read the job from stdin, run it, write the outcome file."""
    from omegaconf import OmegaConf

    from spyre_hydra.conftree.resolvers import register_resolvers
    from spyre_hydra.errors import SpyreHydraError
    from spyre_hydra.sweep.results import write_json_atomic

    argv = sys.argv[1:] if argv is None else argv
    out = argv[0]
    payload = json.loads(sys.stdin.read())
    register_resolvers()
    _set_hydra_config(payload.get("hydra"))
    try:
        from spyre_hydra.engine.modes import run_mode

        # the parent resolved the tree: its text is data now, never an interpolation again
        value = run_mode(payload["plan"], OmegaConf.create(escape(payload["cfg"])))
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

"""`spyre-hydra tune`: a bench sweep, the best layout per objective under an SLO, profiles.

    spyre-hydra tune model=tiny_granite runtime=static backend=eager \\
        'runtime.warmup_shapes=[64,8,1],[128,8,2]' bench.max_concurrency=1,2 \\
        --slo 'ttft_p99_ms<=500,tpot_mean_ms<=50' --out myconf
    spyre-hydra tune --from multirun/tune-... --slo '...' --out myconf    # no new runs

Without --from it runs `spyre-launch -m <overrides> mode=bench sweep.explore=true
hydra.sweep.dir=<dir>` (Hydra's sweep syntax, sweep.zip and sweep.resume=true work as in
any sweep; give sweep.explore=false to stay within the catalog). Then it reads the
result.json files, writes tune.md and tune.png into the sweep dir, and with --out writes the
chosen points as profiles of the model (spyre_hydra.tune.profiles). Exit 0 when every
objective has a point; 1 when no point meets the SLO (the closest one is named); 2 on bad
input; 130 / 143 when the sweep was interrupted.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from spyre_hydra.tune.select import OBJECTIVES
from spyre_hydra.tune.slo import EXAMPLE, NoPointMeetsError, TuneError


def add_arguments(parser) -> None:
    parser.add_argument("overrides", nargs="*", help="spyre-launch sweep overrides (the "
                        "candidate points), as for spyre-launch -m")
    parser.add_argument("--slo", required=True, help="terms every repeat must meet, e.g. "
                        "'ttft_p99_ms<=500,tpot_mean_ms<=50'")
    parser.add_argument("--objective", default=",".join(OBJECTIVES),
                        help=f"profiles to choose, comma-separated: {', '.join(OBJECTIVES)} "
                        "(default: all three)")
    parser.add_argument("--out", metavar="CONF_DIR", help="user conf dir to write the "
                        "profiles into (default: none written)")
    parser.add_argument("--from", dest="from_dir", metavar="DIR", help="read this finished "
                        "bench sweep dir instead of running one")
    parser.add_argument("--config-dir", help="user conf dir to compose the sweep with")


def objectives(text: str) -> tuple[str, ...]:
    """The objectives of --objective, or TuneError naming the bad one."""
    names = tuple(dict.fromkeys(n.strip() for n in str(text).split(",") if n.strip()))
    bad = [n for n in names if n not in OBJECTIVES]
    if bad or not names:
        raise TuneError(f"--objective {text!r}: {bad[0] if bad else 'nothing'!r} is not an "
                        f"objective. Valid: {', '.join(OBJECTIVES)}. Fix: --objective "
                        f"{','.join(OBJECTIVES)}.")
    return names


def _value(overrides: list[str], key: str) -> str | None:
    found = None
    for text in overrides:
        name, sep, value = text.partition("=")
        if sep and name.lstrip("+~") == key:
            found = value
    return found


def sweep_argv(overrides: list[str], config_dir: str | None) -> tuple[list[str], Path]:
    """spyre-launch's argv for the tune's bench sweep, and the sweep dir it writes."""
    mode = _value(overrides, "mode")
    if mode not in (None, "bench"):
        raise TuneError(f"mode={mode}: a tune measures with mode=bench. Fix: drop mode={mode} "
                        "(tune adds mode=bench).")
    argv = ["-m", *overrides]
    if mode is None:
        argv.append("mode=bench")
    if _value(overrides, "sweep.explore") is None:
        argv.append("sweep.explore=true")
    where = _value(overrides, "hydra.sweep.dir")
    if where is None:
        where = (f"multirun/tune-{time.strftime('%Y-%m-%d_%H-%M-%S')}-"
                 f"{uuid.uuid4().hex[:6]}")
        argv.append(f"hydra.sweep.dir={where}")
    if config_dir:
        argv += ["--config-dir", str(config_dir)]
    return argv, Path(where)


#: The sweep's process (a module constant so a test can stand in a fake one).
LAUNCH = (sys.executable, "-m", "spyre_hydra.cli.launch")


def _wait(proc: subprocess.Popen) -> int:
    """Wait for the sweep, handing it each SIGINT / SIGTERM the tune gets: the sweep then
    stops its server, keeps its finished results and exits 130 / 143 in its own time
    (subprocess.run would SIGKILL it 0.25 s after a Ctrl-C, and a SIGTERM would end the
    tune alone, leaving the sweep and its vLLM server running)."""
    def forward(signum, _frame):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    old = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, forward)
    except ValueError:  # not the main thread: no signal reaches this one anyway
        pass
    try:
        return proc.wait()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def run_sweep(overrides: list[str], config_dir: str | None) -> tuple[int, Path]:
    """Run the bench sweep in a spyre-launch process (its progress goes to stderr)."""
    argv, sweep_dir = sweep_argv(overrides, config_dir)
    print(f"spyre-hydra tune: spyre-launch {shlex.join(argv)}", file=sys.stderr, flush=True)
    # its own process group: a Ctrl-C reaches the tune only, which hands it on exactly once
    # (in the tune's group the sweep would get every Ctrl-C twice)
    proc = subprocess.Popen([*LAUNCH, *argv], process_group=0)
    code = _wait(proc)
    if code == 2:
        raise TuneError("the bench sweep was refused (its error is above); nothing was "
                        "measured. Fix: correct the overrides (spyre-launch -m <overrides> "
                        "mode=plan shows each point's plan).")
    return code, sweep_dir


def run(args) -> int:
    from spyre_hydra.tune.slo import parse_slo

    from spyre_hydra.tune.run import check_out

    terms = parse_slo(args.slo)  # bad input stops before anything runs
    wanted = objectives(args.objective)
    for flag, value in (("--out", args.out), ("--from", args.from_dir),
                        ("--config-dir", args.config_dir)):
        if value is not None and not str(value).strip():
            raise TuneError(f"{flag} is empty (it would mean the current directory). Fix: "
                            f"{flag} <dir>, or leave it out.")
    check_out(args.out)
    if args.from_dir:
        if args.overrides:
            raise TuneError(f"--from {args.from_dir} reads a finished sweep; the overrides "
                            f"{' '.join(args.overrides)} would not be used. Fix: drop them, or "
                            "drop --from to run a new sweep.")
        code, sweep_dir = 0, Path(args.from_dir)
    else:
        if not args.overrides:
            raise TuneError(f"no candidate points. Fix: spyre-hydra tune model=... "
                            f"'runtime.warmup_shapes=[64,8,1],[128,8,2]' {EXAMPLE}, or --from "
                            "DIR to read a finished bench sweep.")
        code, sweep_dir = run_sweep(list(args.overrides), args.config_dir)
        if code in (130, 143):
            print(f"spyre-hydra tune: the sweep was interrupted; rerun with "
                  f"sweep.resume=true hydra.sweep.dir={sweep_dir} (the same tune command, "
                  "those two added) to run only the points without a result",
                  file=sys.stderr)
            return code
    from spyre_hydra.tune.run import tune

    return tune(sweep_dir, terms, wanted, args.out, args.config_dir)


__all__ = ["NoPointMeetsError", "add_arguments", "objectives", "run", "sweep_argv"]

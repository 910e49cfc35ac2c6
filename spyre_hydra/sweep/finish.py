"""How a launched sweep ends: the summary of what finished, its counts said, and the sweep's
exit status (1 when a job failed or left no result; 130 / 143 after SIGINT / SIGTERM, with
how to run the rest; 0 otherwise). run.py calls it once its jobs are done or stopped.
"""

from __future__ import annotations

from pathlib import Path

from spyre_hydra.errors import SpyreHydraError
from spyre_hydra.sweep.progress import say
from spyre_hydra.sweep.sweeper import exit_code


def interrupt_in(error: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (SIGINT, or SIGTERM as one) an error was raised while handling."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def interrupted(error: KeyboardInterrupt, sweep_dir: Path) -> int:
    """Say how to run the rest of an interrupted sweep; its exit status (130 / 143)."""
    code = exit_code(error)
    say(f"interrupted ({'SIGTERM' if code == 143 else 'SIGINT'}): finished results are kept. "
        f"Fix: rerun with sweep.resume=true hydra.sweep.dir={sweep_dir} to run the rest.")
    return code


def finish(sweep_dir: Path, code: int) -> int:
    """Write the summary of what finished; the exit status of the sweep (``code`` when the
    launch itself already failed or was interrupted)."""
    from spyre_hydra.sweep.report import write_summary

    try:
        summary = write_summary(sweep_dir)
    except SpyreHydraError as error:
        say(f"error: the summary was not written: {error}")
        return code or 2
    say(f"sweep done: {summary['notes'][0]}. Summary: "
        + ", ".join(str(p) for p in summary["written"]))
    for note in summary["notes"][1:]:
        say(note)
    counts = dict.fromkeys(("ok", "failed", "skipped", "missing"), 0)
    for row in summary["rows"]:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    line = f"{counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} skipped"
    say(line + (f", {counts['missing']} missing" if counts["missing"] else ""))
    if code:
        return code
    return 1 if counts["failed"] + counts["missing"] else 0


__all__ = ["finish", "interrupt_in", "interrupted"]

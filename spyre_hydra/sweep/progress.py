"""Progress of a sweep: one line per finished point, with the ETA of the rest.

    spyre-launch: [3/10] ok device=tp4 shape=[[64,8,1]] 0.41s  (eta 2.9s, 0 failed)
    spyre-launch: [4/10] skipped device=tp1 ...: does not support tp1 ...

The sweeper owns the one Progress of a process (`current`). In-process launchers report
through the job callback; launchers whose jobs run elsewhere (submitit, ray) are watched:
a thread prints a line as each job's result.json appears in the sweep dir.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from spyre_hydra.sweep.results import read_result, result_files

PROG = "spyre-launch"


def say(text: str) -> None:
    """One line on stderr, prefixed with the program name (a job's error text may quote a
    result.json or conf value: its terminal escapes are dropped)."""
    from spyre_hydra.io.sanitize import printable

    print(f"{PROG}: {printable(text)}", file=sys.stderr, flush=True)


def short(text: str, limit: int = 160) -> str:
    """The first sentence of an error's first line, for one-line progress output."""
    line = " ".join(part.strip() for part in (text or "").strip().splitlines())
    if len(line) > limit and ". " in line:
        line = line[:line.index(". ") + 1]
    return line if len(line) <= limit else line[:limit - 3] + "..."


def label(overrides, keys=frozenset()) -> str:
    """`device=tp4 runtime.warmup_shapes=[[6144,2048,1]]`: the swept part of one point."""
    items = [str(o) for o in overrides]
    shown = [o for o in items if o.partition("=")[0] in keys]
    return " ".join(shown or items)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Counts finished points and prints one line for each."""

    def __init__(self, total: int, to_run: int, varying: frozenset[str]) -> None:
        self.total, self.to_run, self.varying = total, to_run, varying
        self.started = time.perf_counter()
        self.finished = 0        # all reported points, skipped and resumed ones included
        self.ran = 0             # points run in this process' sweep
        self.failed = 0
        self.seen: set = set()
        self.lock = threading.Lock()

    def report(self, num, outcome: str, overrides, error: str | None = None,
               seconds: float | None = None) -> None:
        """One line for a finished (or skipped) point; each point reported once."""
        with self.lock:
            if num in self.seen:
                return
            self.seen.add(num)
            self.finished += 1
            if outcome != "skipped":
                self.ran += 1
            if outcome == "failed":
                self.failed += 1
            elapsed = time.perf_counter() - self.started
            left = self.to_run - self.ran
            tail = ""
            if outcome != "skipped":
                eta = elapsed / self.ran * left if self.ran else 0.0
                tail = f"  (eta {_clock(eta)}, {self.failed} failed)"
            took = f" {seconds:.2f}s" if seconds is not None else ""
            why = f": {short(error)}" if error else ""
            say(f"[{self.finished}/{self.total}] {outcome} {label(overrides, self.varying)}"
                f"{took}{why}{tail}")


#: The Progress of the sweep running in this process (None outside a sweep).
current: Progress | None = None


def report_record(record: dict) -> None:
    """Report a job's result record through the current Progress, if any."""
    if current is None or not isinstance(record, dict):
        return
    job = record.get("job") or {}
    current.report(job.get("num"), record.get("outcome") or "failed", job.get("overrides") or [],
                   record.get("error"), (record.get("timings") or {}).get("total_s"))


class Watcher(threading.Thread):
    """Reports jobs of remote launchers as their result.json files appear."""

    def __init__(self, sweep_dir: Path, expected: set[int]) -> None:
        super().__init__(name="spyre-sweep-progress", daemon=True)
        self.sweep_dir, self.expected = sweep_dir, expected
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.poll()

    def stop(self) -> None:
        """Stop polling, then report what finished since the last poll."""
        self.done.set()
        self.join(timeout=5)
        self.poll()

    def poll(self) -> None:
        for path in result_files(self.sweep_dir):
            if path.parent.name.isdigit() and int(path.parent.name) in self.expected:
                self.expected.discard(int(path.parent.name))
                report_record(read_result(path))

"""Writing results to stdout when the reader may go away (`spyre-launch ... | head`)."""

from __future__ import annotations

import os
import select
import sys


def quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush can't raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def reader_gone() -> bool:
    """True when stdout is a pipe whose reader has closed it (poll reports an error on the
    write end): a BrokenPipeError on a socket of the engine's stays an error."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        events = poller.poll(0)
    except (AttributeError, OSError, ValueError):  # no poll(), or no real stdout
        return False
    return any(mask & select.POLLERR for _, mask in events)


def emit(text: str) -> None:
    """Print a result; a closed pipe is the reader's choice, not an error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        quiet_stdout()

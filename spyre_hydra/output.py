"""Writing results to stdout when the reader may go away (`spyre-launch ... | head`)."""

from __future__ import annotations

import os
import sys


def quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush can't raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def emit(text: str) -> None:
    """Print a result; a closed pipe is the reader's choice, not an error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        quiet_stdout()

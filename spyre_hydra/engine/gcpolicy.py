"""How spyre-launch keeps Python's cyclic garbage collector out of vLLM's start-up and exit.

Importing vLLM (torch, transformers, pydantic models) allocates ~700k long-lived objects,
and every full collection on the way rescans all of them: on the tiny Granite about a
quarter of the CPU time to a built VllmConfig goes to collections that free nothing
(measured with gc.callbacks: ~1.6 s of ~7 s). At interpreter exit, after vLLM's shutdown
has undone its own gc.freeze(), Python's finalization collects the whole heap again (~2 s).
Modules and config objects live until the process ends, so they are frozen during start-up,
and spyre-launch ends without the interpreter's finalization at all (:func:`end_process`).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside the block; what it allocated is frozen afterwards.

    For the import of vLLM and the building of its config: what they create lives as long
    as the process (modules, classes, the config), so scanning it again and again is pure
    cost. vLLM's engine start (freeze_gc_heap) and shutdown (gc.unfreeze) manage the heap
    themselves from there on, so nothing stays frozen beyond the engine's lifetime.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def end_process(code: object = 0) -> NoReturn:
    """End the spyre-launch process with SystemExit's ``code``, skipping finalization.

    What a normal exit does first still runs: non-daemon threads are waited for, then the
    atexit handlers (vLLM's shutdown hooks, multiprocessing's child joins, logging's flush).
    What is skipped is the teardown of every module and the collections of the whole heap
    that come with it: ~2 s on vLLM's heap, and with the heap frozen (an earlier policy)
    triton's nanobind bindings reported dozens of "nanobind: leaked ... types!" lines,
    because the objects they check were never freed. Call it last, from the console entry
    point only (never from a library or a test process).
    """
    if "vllm" not in sys.modules:
        # Nothing heavy to skip (mode=plan, a sweep whose jobs ran elsewhere): a normal exit,
        # whose thread shutdown also runs the executors' own stop hooks (a joblib/loky sweep
        # keeps non-daemon manager threads that only those hooks end).
        raise SystemExit(code)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    # atexit has no public "run now"; os._exit below would otherwise skip the handlers.
    atexit._run_exitfuncs()
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # SystemExit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, or a closed stream
            pass
    os._exit(status)

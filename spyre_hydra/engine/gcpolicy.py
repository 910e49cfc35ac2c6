"""How spyre-launch keeps Python's cyclic garbage collector out of vLLM's start-up and exit.

Importing vLLM (torch, transformers, pydantic models) allocates ~700k long-lived objects,
and every full collection on the way rescans all of them: on the tiny Granite about a
quarter of the CPU time to a built VllmConfig goes to collections that free nothing
(measured with gc.callbacks: ~1.6 s of ~7 s). At interpreter exit, after vLLM's shutdown
has undone its own gc.freeze(), Python's finalization collects the whole heap again (~2 s).
Modules and config objects live until the process ends, so they are frozen instead.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


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


def freeze_before_exit() -> None:
    """The process is about to end: skip finalization's collections of the whole heap.

    Objects still alive are released by reference counting as modules are torn down, as
    before; only cyclic garbage is left to the OS, which Python does not promise to collect
    at exit anyway. Call it last, from the console entry point only.
    """
    gc.freeze()

"""The GC policy around vLLM's imports: collector off inside, back on (and frozen) after."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from spyre_hydra.engine.gcpolicy import collector_paused


@pytest.fixture(autouse=True)
def restore_gc():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # the test process keeps collecting what these tests froze
    (gc.enable if enabled else gc.disable)()


def test_paused_inside_enabled_and_frozen_after():
    gc.enable()
    before = gc.get_freeze_count()
    with collector_paused():
        assert not gc.isenabled()
        kept = [[] for _ in range(100)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(kept)


def test_enabled_again_when_the_block_raises():
    gc.enable()
    with pytest.raises(ImportError, match="no vllm here"):
        with collector_paused():
            raise ImportError("no vllm here")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_only_the_console_script_skips_finalization(h, tmp_path):
    """main() as the console script ends the process itself (atexit handlers still run);
    main(argv) called from Python returns to its caller."""
    code = ("import atexit, sys\nfrom spyre_hydra.cli.launch import main\n"
            "atexit.register(lambda: print('ATEXIT', file=sys.stderr))\n"
            "sys.argv = ['spyre-launch', 'mode=plan', 'backend=eager']\n"
            "main({argv})\nprint('RETURNED', file=sys.stderr)\n")
    for argv, returned in (("", False), ("['mode=plan', 'backend=eager']", True)):
        proc = subprocess.run([sys.executable, "-c", code.format(argv=argv)], cwd=tmp_path,
                              env=h.clean_env(), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert ("RETURNED" in proc.stderr) is returned and "ATEXIT" in proc.stderr
        assert '"model":' in proc.stdout  # the plan was printed (and flushed) either way


END = """
import atexit, sys, threading, time, types
from spyre_hydra.engine.gcpolicy import end_process
if {vllm}:  # vLLM loaded: the process ends by os._exit after the exit work
    sys.modules["vllm"] = types.ModuleType("vllm")
atexit.register(lambda: print("atexit ran", flush=True))
worker = threading.Thread(target=lambda: (time.sleep(0.2), print("thread done")))
worker.start()
print("buffered", end="")
end_process({code})
"""


@pytest.mark.parametrize("vllm", [True, False])
@pytest.mark.parametrize("code,status,err", [("0", 0, ""), ("None", 0, ""), ("3", 3, ""),
                                             ("'bad input'", 1, "bad input\n")])
def test_end_process_runs_exit_work_then_leaves(code, status, err, vllm):
    proc = subprocess.run([sys.executable, "-c", END.format(code=code, vllm=vllm)],
                          capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == status
    # threads joined first, then the atexit handlers, and buffered output is flushed
    assert proc.stdout == "bufferedthread done\natexit ran\n"
    assert proc.stderr == err

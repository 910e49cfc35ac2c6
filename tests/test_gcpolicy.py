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


def test_spyre_launch_script_freezes_before_exit(h, tmp_path):
    """Only the console script: main(argv) called from Python leaves the heap alone."""
    code = ("import gc, sys\nfrom spyre_hydra.cli.launch import main\n"
            "sys.argv = ['spyre-launch', 'mode=plan', 'backend=eager']\n"
            "try:\n    main({argv})\nfinally:\n"
            "    print('FROZEN', gc.get_freeze_count() > 0, file=sys.stderr)\n")
    for argv, frozen in (("", "True"), ("['mode=plan', 'backend=eager']", "False")):
        proc = subprocess.run([sys.executable, "-c", code.format(argv=argv)], cwd=tmp_path,
                              env=h.clean_env(), capture_output=True, text=True, timeout=120)
        assert f"FROZEN {frozen}" in proc.stderr, proc.stderr[-2000:]

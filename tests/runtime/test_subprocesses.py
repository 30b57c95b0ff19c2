"""FFmpeg children die with their service: SIGKILL the parent, the child is gone at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.runtime.processes import processes

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or shutil.which("setpriv") is None,
    reason="PR_SET_PDEATHSIG is Linux only, requested through util-linux's setpriv",
)

# The child sleeps far longer than this; before PDEATHSIG it outlived its parent by that much.
CHILD_GONE_WITHIN_S = 10.0
_ROOT = Path(__file__).resolve().parents[2]

PARENTS = {
    "runtime run_ffmpeg": (
        "import asyncio, sys\n"
        "from reelforge.runtime.ffmpeg import run_ffmpeg\n"
        "asyncio.run(run_ffmpeg(['sleep', sys.argv[1]], timeout_s=600))\n"
    ),
    "subprocess.run in a worker thread": (
        "import asyncio, subprocess, sys\n"
        "from reelforge.runtime.subprocesses import die_with_parent\n"
        "argv = die_with_parent(['sleep', sys.argv[1]])\n"
        "asyncio.run(asyncio.to_thread(subprocess.run, argv))\n"
    ),
}


def _children_running(marker: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line is `sleep <marker>`."""
    return [
        p.pid
        for p in processes()
        if p.argv[:1] and "sleep" in p.argv[0] and p.argv[1:2] == [marker] and not p.zombie
    ]


def _wait_for(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("name", sorted(PARENTS))
def test_children_die_when_their_parent_is_killed(name: str) -> None:
    marker = f"{600 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6:06d}"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENTS[name], marker], cwd=_ROOT, env={**os.environ}
    )
    try:
        assert _wait_for(lambda: _children_running(marker), 60), "the child never started"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        gone = _wait_for(lambda: not _children_running(marker), CHILD_GONE_WITHIN_S)
        assert gone, f"{name}: child still running {CHILD_GONE_WITHIN_S} s after the parent died"
    finally:
        for pid in _children_running(marker):
            os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()

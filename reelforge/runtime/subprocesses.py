"""Child processes (FFmpeg, ffprobe) that die with the service that started them.

A service killed with SIGKILL (OOM killer, `kill -9`, a crashed container runtime) runs no
cleanup, and its FFmpeg children used to keep rendering for 8–18 s, holding CPU and writing
files nobody will read. On Linux each child asks the kernel for SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), set between fork and exec by :func:`child_process_kwargs`.

Linux only (elsewhere the kwargs are empty and children are only killed by the normal
cancellation paths). The signal follows the *thread* that forked the child: start children
from the event loop thread, or from a worker thread that outlives them (``subprocess.run``
inside ``asyncio.to_thread`` returns before its thread can end).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Resolved once in the parent: between fork and exec the child should only make the call.
_PRCTL = _load_prctl()


def _die_with(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        assert _PRCTL is not None
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the request took effect
            os._exit(1)

    return preexec


def child_process_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``asyncio.create_subprocess_exec`` / ``subprocess.run``."""
    if _PRCTL is None:
        return {}
    return {"preexec_fn": _die_with(os.getpid())}

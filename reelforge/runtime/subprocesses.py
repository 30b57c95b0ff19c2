"""Child processes (FFmpeg) that die with the service that started them.

A service killed with SIGKILL (OOM killer, `kill -9`, a crashed container runtime) runs no
cleanup, and its FFmpeg children used to keep rendering for 8–18 s, holding CPU and writing
files nobody will read. On Linux each child asks the kernel for SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``).

The request is made by util-linux's ``setpriv --pdeathsig KILL``, which calls prctl and then
execs the real program (the setting survives exec). A ``preexec_fn`` calling prctl through
ctypes was tried first: run between fork and exec in these multi-threaded services it made
FFmpeg die of SIGSEGV now and then, as Python's documentation warns preexec_fn may.

Linux only, and only where ``setpriv`` is installed (util-linux is in every Debian image);
elsewhere the command is unchanged and children are stopped only by the normal cancellation
paths. The signal follows the *thread* that forked the child: start children from the event
loop thread, or from a worker thread that outlives them (``subprocess.run`` inside
``asyncio.to_thread`` returns before its thread can end).
"""

from __future__ import annotations

import functools
import shutil
import sys
from collections.abc import Sequence


@functools.cache
def _setpriv() -> str | None:
    return shutil.which("setpriv") if sys.platform.startswith("linux") else None


def die_with_parent(argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped so that its process gets SIGKILL when this process dies.

    A program that is not installed is left unwrapped, so starting it still raises
    FileNotFoundError (callers turn that into "ffmpeg is not installed").
    """
    setpriv = _setpriv()
    if setpriv is None or not argv or shutil.which(argv[0]) is None:
        return list(argv)
    return [setpriv, "--pdeathsig", "KILL", "--", *argv]

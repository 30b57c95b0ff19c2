"""The processes on this machine, read from /proc (Linux; no psutil): for tests that check
that nothing a service started outlives it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Process:
    pid: int
    parent: int
    group: int
    name: str  # the executable's name (comm)
    argv: list[str]
    zombie: bool  # exited, not yet waited for by its parent

    def mentions(self, text: str) -> bool:
        """Whether ``text`` occurs in the command line (arguments joined by spaces)."""
        return text in " ".join(self.argv)


def processes() -> list[Process]:
    """Every process readable now; ones that end while being read are left out."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append(_read(entry))
            except (OSError, IndexError, ValueError):
                continue  # ended while we looked
    return found


def _read(entry: Path) -> Process:
    argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
    stat = (entry / "stat").read_text()
    # "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split at the last ")".
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    state, parent, group = stat[stat.rindex(")") + 2 :].split()[:3]
    return Process(
        pid=int(entry.name),
        parent=int(parent),
        group=int(group),
        name=name,
        argv=[arg for arg in argv if arg],
        zombie=state == "Z",
    )


def ffmpeg_pids_under(folder: Path) -> list[int]:
    """FFmpeg processes whose command line mentions ``folder``."""
    return [
        p.pid
        for p in processes()
        if p.argv[:1] and p.argv[0].endswith("ffmpeg") and p.mentions(str(folder))
    ]


async def freeze_ffmpeg_under(folder: Path) -> None:
    """SIGSTOPs every FFmpeg working under ``folder`` as it appears, until cancelled; then lets
    go (SIGCONT) of those still alive. A frozen render cannot finish before a test's next step,
    however fast or loaded the machine; SIGKILL still ends a stopped process."""
    frozen: set[int] = set()
    try:
        while True:
            for pid in set(ffmpeg_pids_under(folder)) - frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                frozen.add(pid)
            await asyncio.sleep(0.05)
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


# How long the FFmpeg processes are held once the limit is reached, for a process beyond it to
# show up; and how long a lone held process waits for company before it is let go.
HOLD_AT_LIMIT_S = 2.0
HOLD_ALONE_S = 15.0


@contextlib.asynccontextmanager
async def peak_ffmpeg(folder: Path, limit: int) -> AsyncIterator[list[int]]:
    """Yields [peak]: the most FFmpeg processes under ``folder`` seen running at once.

    Each FFmpeg is frozen (SIGSTOP) as it appears and let go (SIGCONT) once ``limit`` of them are
    held (after HOLD_AT_LIMIT_S) or none has joined for HOLD_ALONE_S. So the renders overlap
    whatever the machine's speed: on a loaded machine the first render used to finish before the
    second's FFmpeg started, and the peak said 1 under a limit of 2.
    """
    peak = [0]
    seen: set[int] = set()
    held: list[int] = []

    def release() -> None:
        for pid in held:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        held.clear()

    async def sample() -> None:
        since = time.monotonic()
        while True:
            running = ffmpeg_pids_under(folder)
            for pid in running:
                if pid not in seen:
                    seen.add(pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGSTOP)
                        held.append(pid)
                        since = time.monotonic()
            peak[0] = max(peak[0], len(running))
            waited = time.monotonic() - since
            if held and (
                waited >= HOLD_ALONE_S or (len(held) >= limit and waited >= HOLD_AT_LIMIT_S)
            ):
                release()
            await asyncio.sleep(0.02)

    task = asyncio.create_task(sample())
    try:
        yield peak
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        release()

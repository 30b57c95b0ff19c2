"""Runs FFmpeg as an asyncio subprocess: progress lines out, killed (whole group) on cancel or timeout."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import signal
from collections.abc import Callable

from reelforge.runtime.subprocesses import die_with_parent
from services.composer.progress import ProgressParser
from services.composer.render_errors import RenderFailed

_LOGGER = logging.getLogger(__name__)
_STDERR_LINES = 12


async def _read_progress(
    stream: asyncio.StreamReader, fps: float, on_progress: Callable[[float], None]
) -> None:
    parser = ProgressParser(fps)
    async for raw in stream:
        seconds = parser.feed(raw.decode(errors="replace"))
        if seconds is not None:
            on_progress(seconds)


async def _tail(stream: asyncio.StreamReader, lines: collections.deque[str]) -> None:
    # Drained continuously so a chatty FFmpeg never blocks on a full stderr pipe.
    async for raw in stream:
        lines.append(raw.decode(errors="replace").rstrip())


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        # FFmpeg runs in its own session, so the group holds it and anything it started.
        os.killpg(process.pid, signal.SIGKILL)


async def run_ffmpeg(
    argv: list[str], fps: float, on_progress: Callable[[float], None], *, timeout_s: float
) -> None:
    """Runs ``argv`` to completion; RenderFailed with FFmpeg's last words when it fails.

    On cancellation or timeout the process group is killed and reaped before this returns,
    so no FFmpeg outlives the composition that started it.
    """
    process = await asyncio.create_subprocess_exec(
        *die_with_parent(argv),  # FFmpeg gets SIGKILL if this service dies, even by SIGKILL
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    _LOGGER.debug("ffmpeg started (pid %s)", process.pid)
    stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
    assert process.stdout is not None and process.stderr is not None
    readers = asyncio.gather(
        _read_progress(process.stdout, fps, on_progress), _tail(process.stderr, stderr)
    )
    try:
        async with asyncio.timeout(timeout_s):
            # Shielded: on cancel the readers keep draining until the killed process's pipes close,
            # so the subprocess transport is closed properly rather than garbage-collected.
            await asyncio.shield(readers)
            code = await process.wait()
    except TimeoutError:
        raise RenderFailed(f"FFmpeg took longer than {timeout_s:g} s") from None
    finally:
        if process.returncode is None:
            _kill(process)
            await process.wait()
        await asyncio.wait({readers})  # EOF follows the exit at once
        if not readers.cancelled() and (error := readers.exception()):
            _LOGGER.warning("reading FFmpeg output failed: %s", error)
    if code != 0:
        reason = "; ".join(line for line in stderr if line) or f"exit code {code}"
        raise RenderFailed(f"FFmpeg failed: {reason[-800:]}")

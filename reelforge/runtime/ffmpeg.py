"""FFmpeg as an asyncio subprocess that never outlives the work that started it.

One runner for every service: FFmpeg runs in its own process group (so a kill reaches anything
it started), asks for SIGKILL if this process dies (``die_with_parent``), and is killed and
reaped before :func:`run_ffmpeg` returns on cancellation, on timeout or on any error. Its
stderr is drained all along (a chatty FFmpeg never blocks on a full pipe) and the last lines,
with server paths cut to file names, say why it failed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

from reelforge.runtime.errors import redact_paths
from reelforge.runtime.subprocesses import die_with_parent

_LOGGER = logging.getLogger(__name__)
_STDERR_LINES = 12
_REASON_CHARS = 800

OnLine = Callable[[str], None]


class FfmpegFailed(Exception):
    """FFmpeg did not do its work: not installed, timed out, or a non-zero exit.

    ``message`` is safe to show a client: absolute paths are cut to file names.
    """

    def __init__(self, message: str) -> None:
        message = redact_paths(message)
        super().__init__(message)
        self.message = message


async def run_ffmpeg(
    argv: Sequence[str],
    *,
    timeout_s: float | None,
    on_stdout_line: OnLine | None = None,
    stdin_data: bytes | None = None,
) -> None:
    """Runs ``argv`` (an FFmpeg command line) to a zero exit, or raises FfmpegFailed.

    ``on_stdout_line`` gets each stdout line (e.g. ``-progress pipe:1``); without it stdout is
    discarded. ``stdin_data`` is written to FFmpeg's stdin (e.g. raw PCM from ``pipe:0``).
    """
    process = await _start(argv, piped_stdout=on_stdout_line is not None, stdin=stdin_data)
    stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
    io = asyncio.gather(
        _feed(process.stdin, stdin_data),
        _lines(process.stdout, on_stdout_line or (lambda _line: None)),
        _lines(process.stderr, stderr.append),
    )
    try:
        async with asyncio.timeout(timeout_s):
            # Shielded: on cancel the readers keep draining until the killed process's pipes
            # close, so the subprocess transport is closed properly rather than collected.
            await asyncio.shield(io)
            code = await process.wait()
    except TimeoutError:
        raise FfmpegFailed(f"FFmpeg took longer than {timeout_s:g} s") from None
    finally:
        await _stop(process, io)
    if code != 0:
        reason = "; ".join(line for line in stderr if line) or f"exit code {code}"
        raise FfmpegFailed(f"FFmpeg failed: {reason[-_REASON_CHARS:]}")


async def _start(
    argv: Sequence[str], *, piped_stdout: bool, stdin: bytes | None
) -> asyncio.subprocess.Process:
    pipe, devnull = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
    starting = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *die_with_parent(argv),  # SIGKILL if this service dies, even by SIGKILL
            stdin=pipe if stdin is not None else devnull,
            stdout=pipe if piped_stdout else devnull,
            stderr=pipe,
            start_new_session=True,  # its own process group: one kill reaches all it started
        )
    )
    try:
        # Shielded: cancelled between the fork and the pipes' connection, asyncio would kill
        # the process alone and then wait for pipes its children still hold open (a hang).
        process = await asyncio.shield(starting)
    except FileNotFoundError:
        raise FfmpegFailed(f"{argv[0]} is not installed or not on PATH") from None
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            started = await asyncio.shield(starting)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(started.pid, signal.SIGKILL)
            await asyncio.shield(started.wait())
        raise
    _LOGGER.debug("%s started (pid %s)", argv[0], process.pid)
    return process


async def _stop(process: asyncio.subprocess.Process, io: asyncio.Future[Any]) -> None:
    """Kills the group if FFmpeg still runs, reaps it, and waits for its pipes to close."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        # Shielded: a second cancellation must not leave FFmpeg unreaped.
        await asyncio.shield(process.wait())
    await asyncio.wait({io})  # EOF follows the exit at once
    if not io.cancelled() and (error := io.exception()):
        _LOGGER.warning("FFmpeg's pipes failed: %s", error)


async def _feed(stdin: asyncio.StreamWriter | None, data: bytes | None) -> None:
    if stdin is None or data is None:
        return
    try:
        stdin.write(data)
        await stdin.drain()
        stdin.close()
        await stdin.wait_closed()
    except (BrokenPipeError, ConnectionResetError):
        pass  # FFmpeg stopped reading (it failed or was killed): its exit says why


async def _lines(stream: asyncio.StreamReader | None, on_line: OnLine) -> None:
    if stream is None:
        return
    async for raw in stream:
        on_line(raw.decode(errors="replace").rstrip())

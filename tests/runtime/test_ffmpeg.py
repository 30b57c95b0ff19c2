"""The one FFmpeg runner: nothing it started outlives a cancel or a timeout; failures say why
without server paths; stdin and stdout lines reach the caller."""

from __future__ import annotations

import asyncio
import asyncio.base_subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from reelforge.runtime.ffmpeg import FfmpegFailed, run_ffmpeg
from tests.runtime.processes import processes

START_DEADLINE_S = 30.0
GONE_DEADLINE_S = 5.0
# Long enough for the shell to start both its children before the pipes are connected.
PIPES_DELAY_S = 3.0


def _processes(marker: str) -> list[tuple[int, int]]:
    """(pid, process group) of live processes whose command line mentions ``marker``."""
    return [(p.pid, p.group) for p in processes() if p.mentions(marker) and not p.zombie]


async def _until(condition: object, deadline_s: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while loop.time() < end:
        if condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


def _marker() -> str:
    # A sleep length nobody else uses: 600.<random> seconds.
    return f"600.{uuid.uuid4().int % 10**9:09d}"


async def test_a_cancelled_run_leaves_no_process_of_its_group_behind() -> None:
    marker = _marker()
    # A stand-in for FFmpeg that starts a child of its own: the kill must reach both.
    argv = ["sh", "-c", f"sleep {marker} & sleep {marker}; wait"]
    task = asyncio.create_task(run_ffmpeg(argv, timeout_s=600))
    assert await _until(lambda: len(_processes(marker)) >= 2, START_DEADLINE_S), "never started"
    groups = {group for _, group in _processes(marker)}
    assert len(groups) == 1, "the command and its child share one process group"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Reaped before the cancel returned: the shell is gone; its orphaned child dies of the same kill.
    assert await _until(lambda: not _processes(marker), GONE_DEADLINE_S), _processes(marker)


async def test_a_run_cancelled_while_starting_leaves_no_process_of_its_group_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # asyncio connects the pipes after the fork; a cancel then used to kill the command's own pid
    # only (asyncio's clean-up), and what it had started lived on (seen on a loaded machine).
    # Connecting is slowed here so the cancel lands in that window every time.
    connect = asyncio.base_subprocess.BaseSubprocessTransport._connect_pipes

    async def slow_connect(self: Any, waiter: Any) -> None:
        await asyncio.sleep(PIPES_DELAY_S)
        await connect(self, waiter)

    monkeypatch.setattr(
        asyncio.base_subprocess.BaseSubprocessTransport, "_connect_pipes", slow_connect
    )
    marker = _marker()
    argv = ["sh", "-c", f"sleep {marker} & sleep {marker}; wait"]
    task = asyncio.create_task(run_ffmpeg(argv, timeout_s=600))
    assert await _until(lambda: len(_processes(marker)) >= 2, START_DEADLINE_S), "never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # a TimeoutError here: the cancel hung
        await asyncio.wait_for(task, START_DEADLINE_S)
    assert await _until(lambda: not _processes(marker), GONE_DEADLINE_S), _processes(marker)


async def test_a_timeout_kills_ffmpeg_and_says_how_long_it_waited() -> None:
    marker = _marker()
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-re", "-f", "lavfi", "-i", "sine=d=600"]
    argv += ["-metadata", f"comment={marker}", "-f", "null", "-"]
    with pytest.raises(FfmpegFailed, match=r"^FFmpeg took longer than 0\.5 s$"):
        await run_ffmpeg(argv, timeout_s=0.5)
    assert _processes(marker) == []


async def test_a_failure_gives_ffmpegs_last_words_without_server_paths(tmp_path: Path) -> None:
    missing = tmp_path / "inputs" / "missing.mp4"
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-i", str(missing), "-f", "null", "-"]
    with pytest.raises(FfmpegFailed) as failed:
        await run_ffmpeg(argv, timeout_s=60)
    assert failed.value.message.startswith("FFmpeg failed: ")
    assert "missing.mp4" in failed.value.message
    assert str(tmp_path) not in failed.value.message


async def test_a_missing_program_is_reported_not_raised_as_oserror() -> None:
    with pytest.raises(FfmpegFailed, match="not installed or not on PATH"):
        await run_ffmpeg(["reelforge-no-such-ffmpeg", "-version"], timeout_s=5)


async def test_stdin_is_fed_and_stdout_lines_reach_the_caller() -> None:
    one_second = bytes(8000 * 2)  # s16le mono silence at 8 kHz
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-f", "s16le", "-ar", "8000", "-ac", "1"]
    argv += ["-i", "pipe:0", "-progress", "pipe:1", "-f", "null", "-"]
    lines: list[str] = []
    await run_ffmpeg(argv, timeout_s=60, on_stdout_line=lines.append, stdin_data=one_second)
    assert lines[-1] == "progress=end"
    assert "out_time=00:00:01.000000" in lines

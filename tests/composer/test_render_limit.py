"""MAX_CONCURRENT_RENDERS observed where it matters: the FFmpeg processes running at once never
exceed it, and the limit is reached (queued compositions do not wait for nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import composer_pb2 as S
from reelforge.v1 import composer_pb2_grpc
from services.composer.server import create_server
from tests.composer.helpers import Media, composer_settings, put, watch_all
from tests.grpc_helpers import running_service
from tests.runtime.processes import ffmpeg_pids_under

COMPOSITIONS = 3


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


@pytest.mark.parametrize("limit", [1, 2])
async def test_renders_at_once_never_exceed_the_limit_and_reach_it(
    data_dir: Path, store: ArtifactStore, media: Media, limit: int
) -> None:
    clip = await put(store, media.clip_10s)
    settings = composer_settings(data_dir, max_concurrent_renders=limit)
    request = S.ComposeRequest(clips=[S.ClipInput(source=clip)], height=320, fps=12)
    async with (
        running_service(create_server, settings) as (channel, _port),
        peak_ffmpeg(data_dir, limit) as peak,
    ):
        stub = composer_pb2_grpc.ComposerServiceStub(channel)
        started = [await stub.Compose(request, timeout=10) for _ in range(COMPOSITIONS)]
        finals = [(await watch_all(stub, c.id, timeout_s=300))[-1] for c in started]
    assert [f.state for f in finals] == [S.COMPOSITION_STATE_COMPLETED] * COMPOSITIONS
    assert peak[0] == limit, f"peak of {peak[0]} FFmpeg renders at once, limit {limit}"

"""Watchers see every phase with rising percent; cancel stops FFmpeg and leaves no file behind."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import common_pb2, composer_pb2, composer_pb2_grpc
from tests.composer.helpers import Media, put, watch_all
from tests.runtime.processes import ffmpeg_pids_under

if TYPE_CHECKING:
    Stub = composer_pb2_grpc.ComposerServiceAsyncStub

S = composer_pb2
REAP_BOUND_S = 30.0  # generous: a killed process is reaped in milliseconds on a quiet machine


async def test_watchers_see_rising_percent_and_the_end(
    stub: Stub, store: ArtifactStore, media: Media
) -> None:
    clip, music = await put(store, media.clip_10s), await put(store, media.music)
    request = S.ComposeRequest(clips=[S.ClipInput(source=clip)] * 2, music=music, height=640)
    started = await stub.Compose(request, timeout=10)
    assert started.state == S.COMPOSITION_STATE_PENDING  # returned at once, rendered later

    first, second = await asyncio.gather(watch_all(stub, started.id), watch_all(stub, started.id))

    for seen in (first, second):
        percents = [m.percent for m in seen]
        assert percents == sorted(percents)
        assert seen[-1].state == S.COMPOSITION_STATE_COMPLETED
        assert seen[-1].percent == 100
    states = [m.state for m in first]
    assert S.COMPOSITION_STATE_COMPOSING in states
    composing = [m for m in first if m.state == S.COMPOSITION_STATE_COMPOSING]
    # Progress while encoding, not just phases: a report from the middle of the encode (a count
    # of distinct percents would depend on how fast this machine encodes).
    reports = [re.search(r"([\d.]+) s of ([\d.]+) s", m.message) for m in composing]
    encoded = [(float(r[1]), float(r[2])) for r in reports if r]
    assert encoded and all(total == 19.5 for _, total in encoded), [m.message for m in composing]
    assert any(0 < done < total for done, total in encoded), [m.message for m in composing]
    # A late watcher gets the final snapshot and the stream ends.
    late = await watch_all(stub, started.id)
    assert [m.state for m in late] == [S.COMPOSITION_STATE_COMPLETED]


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


async def _until(condition: Callable[[], object], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_cancel_kills_ffmpeg_and_removes_partial_files(
    stub: Stub, store: ArtifactStore, media: Media, data_dir: Path
) -> None:
    clip = await put(store, media.clip_10s)
    # Production size from tiny clips: slow enough to be caught mid-encode.
    request = S.ComposeRequest(
        clips=[S.ClipInput(source=clip)] * 3, tier=common_pb2.TIER_PRODUCTION
    )
    started = await stub.Compose(request, timeout=10)
    await _until(lambda: ffmpeg_pids_under(data_dir))
    pids = ffmpeg_pids_under(data_dir)
    before = set(store.root.rglob("*"))

    canceled = await stub.CancelComposition(S.CancelCompositionRequest(id=started.id), timeout=30)

    assert canceled.state == S.COMPOSITION_STATE_CANCELED
    assert not canceled.HasField("output")
    assert ffmpeg_pids_under(data_dir) == []
    # Killed: gone from /proc once the service has reaped them (its event loop does that
    # shortly after; a loaded run once saw a killed FFmpeg not yet reaped as the answer came).
    await _until(lambda: _alive(pids) == [], REAP_BOUND_S)
    assert list((store.root / ".tmp").iterdir()) == []  # no half-written MP4
    assert set(store.root.rglob("*")) <= before  # nothing new in the store
    work = data_dir / "composer-work"
    assert not work.exists() or list(work.iterdir()) == []
    # Cancelling again is harmless and a watcher sees the terminal state.
    again = await stub.CancelComposition(S.CancelCompositionRequest(id=started.id), timeout=5)
    assert again.state == S.COMPOSITION_STATE_CANCELED
    assert [m.state for m in await watch_all(stub, started.id)] == [S.COMPOSITION_STATE_CANCELED]

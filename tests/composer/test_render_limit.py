"""MAX_CONCURRENT_RENDERS observed where it matters: the FFmpeg processes running at once never
exceed it, and the limit is reached (queued compositions do not wait for nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import composer_pb2 as S
from reelforge.v1 import composer_pb2_grpc
from services.composer.server import create_server
from tests.composer.helpers import Media, composer_settings, put, watch_all
from tests.grpc_helpers import running_service
from tests.runtime.processes import peak_ffmpeg

COMPOSITIONS = 3


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

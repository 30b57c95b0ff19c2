"""Helpers of the composer tests: the media set, storing inputs, settings, watching a composition."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.media import probe
from reelforge.v1 import composer_pb2, composer_pb2_grpc
from services.composer.settings import ComposerSettings

TERMINAL = (
    composer_pb2.COMPOSITION_STATE_COMPLETED,
    composer_pb2.COMPOSITION_STATE_FAILED,
    composer_pb2.COMPOSITION_STATE_CANCELED,
)


@dataclass(frozen=True)
class Media:
    clip_1s: Path
    clip_2s: Path
    clip_1s_tone: Path
    clip_10s: Path
    music: Path
    corrupt: Path


async def put(store: ArtifactStore, path: Path) -> str:
    """Stores a copy of ``path`` (with its probed metadata) and returns its artifact id."""
    info = await probe(path)
    mime = "video/mp4" if info.has_video else "audio/mp4"
    return (await store.put_file(path, mime, info)).id


def composer_settings(data_dir: Path, **overrides: Any) -> ComposerSettings:
    values: dict[str, Any] = {"data_dir": data_dir, "host": "127.0.0.1", "port": 0}
    values.update(overrides)
    return ComposerSettings(**values)


async def watch_all(
    stub: composer_pb2_grpc.ComposerServiceAsyncStub, composition_id: str, timeout_s: float = 60
) -> list[composer_pb2.Composition]:
    """Every message WatchComposition sends until the stream ends at a terminal state."""
    call = stub.WatchComposition(
        composer_pb2.WatchCompositionRequest(id=composition_id), timeout=timeout_s
    )
    return [message async for message in call]


async def compose_and_wait(
    stub: composer_pb2_grpc.ComposerServiceAsyncStub, request: composer_pb2.ComposeRequest
) -> composer_pb2.Composition:
    started = await stub.Compose(request, timeout=10)
    messages = await watch_all(stub, started.id)
    assert messages[-1].state in TERMINAL
    return messages[-1]

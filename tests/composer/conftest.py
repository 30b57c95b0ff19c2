"""Composer fixtures: tiny media made once per session, a store holding it, a running service."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.media import probe
from reelforge.v1 import composer_pb2, composer_pb2_grpc
from services.composer.server import create_server
from services.composer.settings import ComposerSettings
from tests.composer.media import make_clip, make_music
from tests.conftest import postgres_unreachable
from tests.grpc_helpers import running_service

_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
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


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    root = tmp_path_factory.mktemp("media")
    corrupt = root / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    return Media(
        clip_1s=make_clip(root / "clip1.mp4", 1),
        clip_2s=make_clip(root / "clip2.mp4", 2),
        clip_1s_tone=make_clip(root / "tone1.mp4", 1, tone_hz=300),
        clip_10s=make_clip(root / "clip10.mp4", 10),
        music=make_music(root / "music.m4a", 8),
        corrupt=corrupt,
    )


@pytest.fixture
def store(data_dir: Path) -> ArtifactStore:
    return ArtifactStore(data_dir / "artifacts")


async def put(store: ArtifactStore, path: Path) -> str:
    """Stores a copy of ``path`` (with its probed metadata) and returns its artifact id."""
    info = await probe(path)
    mime = "video/mp4" if info.has_video else "audio/mp4"
    return (await store.put_file(path, mime, info)).id


def _pg_reachable() -> bool:
    async def check() -> bool:
        try:
            conn = await asyncpg.connect(_PG_ADMIN, timeout=2)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(check())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (SQLite in DATA_DIR) or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    if not _pg_reachable():
        postgres_unreachable()
    name = f"composer_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(_PG_ADMIN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def composer_settings(data_dir: Path, **overrides: object) -> ComposerSettings:
    values: dict[str, object] = {"data_dir": data_dir, "host": "127.0.0.1", "port": 0}
    values.update(overrides)
    return ComposerSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(data_dir: Path) -> ComposerSettings:
    return composer_settings(data_dir)


@pytest.fixture
async def stub(
    settings: ComposerSettings,
) -> AsyncIterator[composer_pb2_grpc.ComposerServiceAsyncStub]:
    async with running_service(create_server, settings) as (channel, _port):
        yield composer_pb2_grpc.ComposerServiceStub(channel)  # an async stub on an aio channel


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

"""Composer fixtures: tiny media made once per session, a store holding it, a running service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reelforge.runtime.artifacts import ArtifactStore
from reelforge.v1 import composer_pb2_grpc
from services.composer.segment_cache import SegmentCache
from services.composer.server import create_server
from services.composer.settings import ComposerSettings
from tests.composer.helpers import Media, composer_settings
from tests.composer.media import make_clip, make_music
from tests.composer.pieces import Ads
from tests.helpers import fresh_database, service_stub


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


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """None (SQLite in DATA_DIR) or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    async with fresh_database("composer_test") as url:
        yield url


@pytest.fixture
def settings(data_dir: Path) -> ComposerSettings:
    return composer_settings(data_dir)


@pytest.fixture
async def stub(
    settings: ComposerSettings,
) -> AsyncIterator[composer_pb2_grpc.ComposerServiceAsyncStub]:
    async with service_stub(create_server, settings, composer_pb2_grpc.ComposerServiceStub) as stub:
        yield stub


@pytest.fixture
async def ads(tmp_path: Path) -> Ads:
    return Ads(ArtifactStore(tmp_path / "store"), SegmentCache(tmp_path / "cache"), tmp_path)

"""Fixtures of the generator tests: the fake Replicate, settings and databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import SQLAlchemyError

from reelforge.runtime.database import create_engine, database_url
from services.generator.repository import Repository
from services.generator.settings import GeneratorSettings
from tests.fakes.replicate_server import FakeReplicate
from tests.generator.helpers import MakeSettings
from tests.helpers import POSTGRES_URL, postgres_unreachable


async def _postgres_reachable() -> bool:
    engine = create_engine(database_url(POSTGRES_URL, Path("."), "generator"))
    try:
        async with asyncio.timeout(3), engine.connect():
            return True
    except (OSError, TimeoutError, SQLAlchemyError):
        return False
    finally:
        await engine.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeReplicate]:
    async with FakeReplicate(latency_s=0.3) as server:
        yield server


@pytest.fixture(params=["sqlite"])
def database(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_settings(
    data_dir: Path, fake: FakeReplicate, database: str
) -> AsyncIterator[MakeSettings]:
    """Settings pointing at the fake, with fast polling and a table prefix unique to the test."""
    prefix = f"generator_t{uuid.uuid4().hex[:10]}_"
    url = None
    if database == "postgresql":
        if not await _postgres_reachable():
            postgres_unreachable()
        url = POSTGRES_URL

    def make(**overrides: Any) -> GeneratorSettings:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "data_dir": data_dir,
            "database_url": url,
            "generator_table_prefix": prefix,
            "replicate_api_token": fake.token,
            "replicate_base_url": fake.base_url,
            "fetch_allow_networks": "127.0.0.0/8",
            "poll_initial_s": 0.05,
            "poll_max_s": 0.2,
            "retry_base_s": 0.05,
            "retry_max_s": 0.5,
            "replicate_request_timeout_s": 5.0,
            "animatic_draft_height": 320,
            "animatic_fps": 10,
            "log_format": "text",
            **overrides,
        }
        return GeneratorSettings(**values)

    yield make
    # Leave the shared PostgreSQL database as it was.
    engine = create_engine(database_url(url, data_dir, "generator"))
    await Repository(engine, prefix).drop_schema()
    await engine.dispose()

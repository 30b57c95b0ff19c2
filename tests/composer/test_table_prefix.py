"""COMPOSER_TABLE_PREFIX names the composer's tables, as GENERATOR_TABLE_PREFIX does the
generator's: two deployments share one database without seeing each other's compositions."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect

from reelforge.runtime.database import create_engine, database_url
from reelforge.v1 import composer_pb2
from services.composer.repository import CompositionRepository
from services.composer.settings import ComposerSettings

REQUEST = composer_pb2.ComposeRequest(clips=[composer_pb2.ClipInput(source="x")])


async def test_two_prefixes_share_a_database_apart(data_dir: Path) -> None:
    engine = create_engine(database_url(None, data_dir, "composer"))
    try:
        blue, green = (
            CompositionRepository(engine, "blue_"),
            CompositionRepository(engine, "green_"),
        )
        for repository in (blue, green):
            await repository.create_schema()
        row = await blue.create(REQUEST)
        assert [r.id for r in await blue.list(limit=10, after=None, state=None)] == [row.id]
        assert await green.list(limit=10, after=None, state=None) == []
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert {"blue_compositions", "green_compositions"} <= set(names)
        assert blue.tables.changes_channel == "blue_changes"
    finally:
        await engine.dispose()


def test_the_default_prefix_and_a_refused_one() -> None:
    assert ComposerSettings().composer_table_prefix == "composer_"
    with pytest.raises(ValidationError, match="composer_table_prefix"):
        ComposerSettings(composer_table_prefix="x; DROP TABLE")

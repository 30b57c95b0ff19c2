"""A database made before leases existed gets the lease columns at start-up (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import inspect, text

from reelforge.runtime.database import create_engine, database_url
from services.generator.repository import Repository


async def test_lease_columns_are_added_on_sqlite(data_dir: Path) -> None:
    await _migrates_an_old_items_table(None, data_dir)


async def test_lease_columns_are_added_on_postgresql(pg_url: str, data_dir: Path) -> None:
    await _migrates_an_old_items_table(pg_url, data_dir)


async def _migrates_an_old_items_table(url: str | None, data_dir: Path) -> None:
    engine = create_engine(database_url(url, data_dir, "generator"))
    repo = Repository(engine, f"mig{uuid.uuid4().hex[:8]}_")
    try:
        await repo.create_schema()
        items = repo.tables.items.name
        # What an older version created: the same table without the lease columns.
        async with engine.begin() as conn:
            for column in ("owner", "lease_expires_at"):
                await conn.execute(text(f"ALTER TABLE {items} DROP COLUMN {column}"))
        await repo.create_schema()
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns(items)}
            )
        assert {"owner", "lease_expires_at"} <= columns
    finally:
        await repo.drop_schema()
        await engine.dispose()

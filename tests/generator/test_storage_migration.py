"""A database an older generator made (instants as float seconds, states as enum numbers) is
upgraded in place at start-up to the storage convention of every service (integer microseconds,
state names), on SQLite and PostgreSQL: its rows read back equal, and the indexes, listing,
cache, lease claims and webhook pruning work on the new columns."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import TextClause, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from reelforge.runtime.database import create_engine, database_url
from reelforge.v1 import generator_pb2 as pb
from services.generator.repository import Repository
from services.generator.rows import to_us
from services.generator.webhook_deliveries import WebhookDeliveries
from tests.helpers import fresh_database

# What the previous version created (its SQLAlchemy metadata, compiled), table prefix {p}.
_OLD_SCHEMA = [
    """CREATE TABLE {p}jobs (
        id VARCHAR(40) NOT NULL, kind VARCHAR(16) NOT NULL, state INTEGER NOT NULL,
        provider VARCHAR(32) NOT NULL, model VARCHAR(200) NOT NULL,
        estimated_cost_micros BIGINT NOT NULL, tier INTEGER NOT NULL,
        aspect_ratio INTEGER NOT NULL, canceled BOOLEAN NOT NULL,
        created_at FLOAT NOT NULL, updated_at FLOAT NOT NULL, PRIMARY KEY (id))""",
    "CREATE INDEX {p}jobs_listing ON {p}jobs (created_at, id)",
    """CREATE TABLE {p}webhook_deliveries (
        webhook_id VARCHAR(200) NOT NULL, prediction_id VARCHAR(200) NOT NULL,
        received_at FLOAT NOT NULL, PRIMARY KEY (webhook_id))""",
    """CREATE TABLE {p}items (
        id VARCHAR(40) NOT NULL, kind VARCHAR(16) NOT NULL, state INTEGER NOT NULL,
        provider VARCHAR(32) NOT NULL, model VARCHAR(200) NOT NULL,
        estimated_cost_micros BIGINT NOT NULL, job_id VARCHAR(40) NOT NULL,
        idx INTEGER NOT NULL, spec TEXT NOT NULL, input TEXT NOT NULL,
        cache_key VARCHAR(64) NOT NULL, prediction_id VARCHAR(200), attempts INTEGER NOT NULL,
        outputs TEXT NOT NULL, words TEXT DEFAULT '[]' NOT NULL, error TEXT NOT NULL,
        actual_cost_micros BIGINT NOT NULL, cached BOOLEAN NOT NULL,
        submit_started_at FLOAT NOT NULL, deadline_at FLOAT NOT NULL,
        created_at FLOAT NOT NULL, updated_at FLOAT NOT NULL, owner VARCHAR(120),
        lease_expires_at FLOAT DEFAULT 0 NOT NULL, PRIMARY KEY (id),
        FOREIGN KEY(job_id) REFERENCES {p}jobs (id), UNIQUE (prediction_id))""",
    "CREATE INDEX {p}items_job ON {p}items (job_id, idx)",
    "CREATE INDEX {p}items_state ON {p}items (state)",
    "CREATE INDEX {p}items_cache ON {p}items (cache_key, state)",
]
_CREATED = 1_700_000_000.123456
_OUTPUTS = [
    {
        "size_bytes": 10,
        "width": 4,
        "height": 4,
        "duration_seconds": 0.0,
        "id": "a" * 64,
        "mime_type": "image/png",
    }
]


@pytest.fixture(params=["sqlite", "postgresql"])
async def old_database(request: pytest.FixtureRequest, data_dir: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield database_url(None, data_dir, "generator")
        return
    async with fresh_database("genstore") as url:
        yield database_url(url, data_dir, "generator")


async def test_an_old_database_reads_back_equal_after_the_upgrade(old_database: str) -> None:
    engine = create_engine(old_database)
    prefix = f"old{uuid.uuid4().hex[:6]}_"
    try:
        await _create_old_tables(engine, prefix)
        repo = Repository(engine, prefix)
        await repo.create_schema()  # what the new code does at start
        await repo.create_schema()  # and at every later start: nothing left to migrate

        job = await repo.load_job("job1")
        assert job is not None
        assert (job.state, job.tier, job.aspect_ratio) == (pb.JOB_STATE_RUNNING, 2, 1)
        assert (job.created_at, job.updated_at) == (_CREATED, _CREATED + 5)
        done, running = job.items
        assert (done.state, running.state) == (pb.ITEM_STATE_SUCCEEDED, pb.ITEM_STATE_RUNNING)
        assert (done.created_at, done.updated_at) == (_CREATED, _CREATED + 2.5)
        assert (running.submit_started_at, running.deadline_at) == (_CREATED + 1, _CREATED + 601)
        assert [vars(meta) for meta in done.outputs] == _OUTPUTS
        assert done.prediction_id == "p-done"
        assert await repo.owner_of("item-running") == "replica-a"

        assert await _columns(engine, f"{prefix}items") >= {
            "created_us",
            "updated_us",
            "submit_started_us",
            "deadline_us",
        }
        assert not await _columns(engine, f"{prefix}items") & {"created_at", "deadline_at"}
        assert await _indexed(engine, f"{prefix}jobs") == {("created_us", "id")}
        # The queries on the new columns find the old rows.
        listed = await repo.list_jobs(limit=5, after=None, state=pb.JOB_STATE_RUNNING, kind="")
        assert [j.id for j in listed] == ["job1"]
        assert (
            await repo.list_jobs(
                limit=5, after=(to_us(_CREATED), "job1"), state=pb.JOB_STATE_UNSPECIFIED, kind=""
            )
            == []
        )
        cached = await repo.find_cached("key-done")
        assert cached is not None and cached.id == "item-done"
        assert await repo.prediction_ids_since(_CREATED) == {"p-done", "p-running"}
        assert await _active_items(engine, repo) == {"item-running"}  # what leases claim
        deliveries = WebhookDeliveries(repo.writes, repo.tables.webhooks)
        assert not await deliveries.remember("hook-1", "p-done")  # the old row is still seen
        await deliveries.forget_before(_CREATED + 11)
        assert await deliveries.remember("hook-1", "p-done")  # forgotten by its old time
    finally:
        await engine.dispose()


async def test_a_migration_stopped_part_way_continues(old_database: str) -> None:
    engine = create_engine(old_database)
    prefix = f"half{uuid.uuid4().hex[:6]}_"
    try:
        await _create_old_tables(engine, prefix)
        # Where a run stopped: jobs' states written by name but the column not yet renamed;
        # items' created_us added but not filled.
        async with engine.begin() as conn:
            for statement in (
                "ALTER TABLE {p}jobs ADD COLUMN state_name VARCHAR(16) NOT NULL DEFAULT ''",
                "UPDATE {p}jobs SET state_name = 'RUNNING'",
                "ALTER TABLE {p}jobs DROP COLUMN state",
                "ALTER TABLE {p}items ADD COLUMN created_us BIGINT NOT NULL DEFAULT 0",
            ):
                await conn.execute(text(statement.format(p=prefix)))
        repo = Repository(engine, prefix)
        await repo.create_schema()

        job = await repo.load_job("job1")
        assert job is not None
        assert (job.state, job.created_at) == (pb.JOB_STATE_RUNNING, _CREATED)
        assert [item.created_at for item in job.items] == [_CREATED, _CREATED]
    finally:
        await engine.dispose()


async def _create_old_tables(engine: AsyncEngine, prefix: str) -> None:
    job = {
        "id": "job1",
        "kind": "images",
        "state": pb.JOB_STATE_RUNNING,
        "provider": "replicate",
        "model": "acme/model",
        "estimated_cost_micros": 4000,
        "tier": 2,
        "aspect_ratio": 1,
        "canceled": False,
        "created_at": _CREATED,
        "updated_at": _CREATED + 5,
    }
    item = {
        "kind": "images",
        "provider": "replicate",
        "model": "acme/model",
        "estimated_cost_micros": 2000,
        "job_id": "job1",
        "spec": "{}",
        "input": "{}",
        "attempts": 1,
        "words": "[]",
        "error": "",
        "actual_cost_micros": 0,
        "cached": False,
        "created_at": _CREATED,
        "lease_expires_at": 0.0,
    }
    done = {
        **item,
        "id": "item-done",
        "state": pb.ITEM_STATE_SUCCEEDED,
        "idx": 0,
        "cache_key": "key-done",
        "prediction_id": "p-done",
        "outputs": json.dumps(_OUTPUTS),
        "submit_started_at": _CREATED,
        "deadline_at": _CREATED + 600,
        "updated_at": _CREATED + 2.5,
        "owner": None,
    }
    running = {
        **item,
        "id": "item-running",
        "state": pb.ITEM_STATE_RUNNING,
        "idx": 1,
        "cache_key": "key-running",
        "prediction_id": "p-running",
        "outputs": "[]",
        "submit_started_at": _CREATED + 1,
        "deadline_at": _CREATED + 601,
        "updated_at": _CREATED + 3,
        "owner": "replica-a",
    }
    async with engine.begin() as conn:
        for statement in _OLD_SCHEMA:
            await conn.execute(text(statement.format(p=prefix)))
        await conn.execute(_insert(f"{prefix}jobs", job), job)
        for row in (done, running):
            await conn.execute(_insert(f"{prefix}items", row), row)
        hook = {"webhook_id": "hook-1", "prediction_id": "p-done", "received_at": _CREATED + 10}
        await conn.execute(_insert(f"{prefix}webhook_deliveries", hook), hook)


def _insert(table: str, row: dict[str, object]) -> TextClause:
    names = ", ".join(row)
    return text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in row)})")


async def _columns(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: {column["name"] for column in inspect(sync).get_columns(table)}
        )


async def _indexed(engine: AsyncEngine, table: str) -> set[tuple[str, ...]]:
    async with engine.connect() as conn:
        indexes = await conn.run_sync(lambda sync: inspect(sync).get_indexes(table))
    return {tuple(str(name) for name in index["column_names"]) for index in indexes}


async def _active_items(engine: AsyncEngine, repo: Repository) -> set[str]:
    items = repo.tables.items
    async with engine.connect() as conn:
        rows = await conn.execute(select(items.c.id).where(repo.leased.active))
    return {row.id for row in rows}

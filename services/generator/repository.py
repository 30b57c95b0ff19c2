"""Persistence of jobs and items (SQLAlchemy 2 async Core; SQLite or PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reelforge.runtime import page_tokens
from reelforge.runtime.database import chunks
from reelforge.runtime.leases import LeasedTable
from reelforge.runtime.pg_notify import notify
from reelforge.runtime.schema import upgrade_schema
from reelforge.v1 import generator_pb2 as pb
from services.generator.coalesced import CoalescedLookup
from services.generator.item_updates import ItemUpdate
from services.generator.item_writes import ItemWrite, item_writes, refresh_job_states
from services.generator.records import (
    TERMINAL_ITEM_STATES,
    ItemRecord,
    ItemState,
    JobRecord,
    JobState,
)
from services.generator.rows import (
    item_from_row,
    item_state_name,
    item_state_names,
    item_values,
    job_from_row,
    job_state_name,
    job_values,
    to_us,
)
from services.generator.schema import Tables, build_tables, migrate_to_micros_and_names
from services.generator.transactions import WriteTransactions


class Repository:
    """The SQL of jobs and items. Item updates go through the dialect's write strategy
    (``item_writes.py``); every other write through ``writes`` (serialised on SQLite)."""

    def __init__(self, engine: AsyncEngine, prefix: str) -> None:
        self._engine = engine
        self.tables: Tables = build_tables(prefix)
        self.writes = WriteTransactions(engine)
        # PostgreSQL NOTIFY channels: "a job changed" (payload: job id) and "wake the runner of
        # this prediction" (payload: prediction id; a webhook landed on another replica).
        self.changes_channel = f"{prefix}changes"
        self.wake_channel = f"{prefix}wake"
        self._item_writes = item_writes(self.writes, self.tables, self.changes_channel)
        # Items starting together (a new job, a resume) look the cache up in one query.
        self._cache_lookups = CoalescedLookup[str, ItemRecord](self._find_cached_many)
        items = self.tables.items
        # Which rows are work a replica leases: unfinished items.
        self.leased = LeasedTable(
            items, items.c.state.not_in(item_state_names(TERMINAL_ITEM_STATES)), items.c.created_us
        )

    def write_transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A write transaction as every other write takes it (serialised on SQLite)."""
        return self.writes.begin()

    async def create_schema(self) -> None:
        """Creates missing tables, and adds columns newer versions need to tables made by older ones."""
        await upgrade_schema(
            self._engine,
            self.tables.metadata,
            lambda conn: migrate_to_micros_and_names(conn, self.tables),
        )

    async def drop_schema(self) -> None:
        async with self._engine.begin() as conn:
            await conn.run_sync(self.tables.metadata.drop_all)

    # ---- jobs -------------------------------------------------------------------------------

    async def insert_job(self, job: JobRecord, lease: Mapping[str, Any] | None = None) -> None:
        """Stores the job and its items; ``lease`` (owner, expiry) makes the items this process's."""
        t = self.tables
        rows = [{**item_values(item), **(lease or {})} for item in job.items]
        async with self.writes.begin() as conn:
            await conn.execute(insert(t.jobs).values(job_values(job)))
            await conn.execute(insert(t.items), rows)
            await notify(conn, self.changes_channel, job.id)

    async def load_job(self, job_id: str) -> JobRecord | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(self.tables.jobs).where(self.tables.jobs.c.id == job_id))
            ).first()
            if row is None:
                return None
            job = job_from_row(row)
            job.items = await self._items_of(conn, [job.id])
            return job

    async def list_jobs(
        self, *, limit: int, after: page_tokens.Position | None, state: JobState, kind: str
    ) -> list[JobRecord]:
        """Newest first; ``after`` is the (created_us, id) of the last job of the previous page."""
        jobs = self.tables.jobs
        query = select(jobs).order_by(jobs.c.created_us.desc(), jobs.c.id.desc()).limit(limit)
        if after is not None:
            query = query.where(page_tokens.past(jobs.c.created_us, jobs.c.id, after))
        if state:
            query = query.where(jobs.c.state == job_state_name(state))
        if kind:
            query = query.where(jobs.c.kind == kind)
        async with self._engine.connect() as conn:
            records = [job_from_row(row) for row in await conn.execute(query)]
            items = await self._items_of(conn, [job.id for job in records])
        for job in records:
            job.items = [item for item in items if item.job_id == job.id]
        return records

    async def mark_job_canceled(self, job_id: str) -> None:
        async with self.writes.begin() as conn:
            await conn.execute(
                update(self.tables.jobs)
                .where(self.tables.jobs.c.id == job_id)
                .values(canceled=True)
            )
            await notify(conn, self.changes_channel, job_id)

    # ---- items ------------------------------------------------------------------------------

    async def update_item(
        self, item: ItemRecord, change: ItemUpdate, *, fence: str | None = None
    ) -> bool:
        """Writes ``change`` to the item, and the record follows; returns whether it landed.

        With ``fence`` (an owner id) the write also requires the item's lease to be that owner's,
        so a replica that lost the item cannot write over its new owner. A terminal item is
        left alone unless the change says otherwise. The job's derived state is refreshed in
        the same transaction.
        """
        now = time.time()
        write = ItemWrite(
            item_id=item.id,
            job_id=item.job_id,
            columns=change.columns(),
            updated_at=now,
            only_if_active=change.only_if_active,
            fence=fence,
            refresh_job=change.changes_job_state(item.state),
        )
        changed = await self._item_writes.write(write)
        if changed:
            change.apply_to(item, now)
        return changed

    async def item_by_prediction(self, prediction_id: str) -> ItemRecord | None:
        items = self.tables.items
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(items).where(items.c.prediction_id == prediction_id))
            ).first()
        return item_from_row(row) if row else None

    async def items_by_ids(self, item_ids: Collection[str]) -> list[ItemRecord]:
        """The items (oldest first), e.g. the ones a lease round just claimed."""
        items = self.tables.items
        found: list[ItemRecord] = []
        async with self._engine.connect() as conn:
            for chunk in chunks(sorted(item_ids)):
                query = select(items).where(items.c.id.in_(chunk))
                found.extend(item_from_row(row) for row in await conn.execute(query))
        return sorted(found, key=lambda item: (item.created_at, item.index))

    async def owner_of(self, item_id: str) -> str | None:
        items = self.tables.items
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(items.c.owner).where(items.c.id == item_id))).first()
        return row.owner if row else None

    async def wake_elsewhere(self, prediction_id: str) -> None:
        """Asks the replica running this prediction's item to look at it now (PostgreSQL only)."""
        if self._engine.dialect.name != "postgresql":
            return
        async with self._engine.begin() as conn:
            await notify(conn, self.wake_channel, prediction_id)

    async def prediction_ids_since(self, since: float) -> set[str]:
        """Prediction ids already claimed by items (reconciliation must not take them twice)."""
        items = self.tables.items
        query = select(items.c.prediction_id).where(
            items.c.prediction_id.is_not(None), items.c.updated_us >= to_us(since)
        )
        async with self._engine.connect() as conn:
            return {str(value) for value in (await conn.execute(query)).scalars()}

    async def find_cached(self, cache_key: str) -> ItemRecord | None:
        """An earlier succeeded item with the same provider, model and input."""
        return await self._cache_lookups.get(cache_key)

    async def _find_cached_many(self, cache_keys: list[str]) -> dict[str, ItemRecord]:
        """The newest succeeded item with outputs for each key (one query for all keys)."""
        items = self.tables.items
        newest_first = func.row_number().over(
            partition_by=items.c.cache_key, order_by=items.c.created_us.desc()
        )
        ranked = (
            select(items, newest_first.label("rank"))
            .where(
                items.c.cache_key.in_(cache_keys),
                items.c.state == item_state_name(pb.ITEM_STATE_SUCCEEDED),
                items.c.outputs != "[]",
            )
            .subquery()
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(ranked).where(ranked.c.rank == 1))
            return {row.cache_key: item_from_row(row) for row in rows}

    async def reset_items(
        self, job_id: str, states: Sequence[ItemState], lease: Mapping[str, Any] | None = None
    ) -> list[ItemRecord]:
        """Puts the job's items in ``states`` back to QUEUED (RetryJob), leased as given; returns them."""
        items = self.tables.items
        now = time.time()
        where = and_(items.c.job_id == job_id, items.c.state.in_(item_state_names(states)))
        async with self.writes.begin() as conn:
            rows = list(await conn.execute(select(items).where(where)))
            await conn.execute(
                update(items)
                .where(where)
                .values(**ItemUpdate.requeued().columns(), updated_us=to_us(now), **(lease or {}))
            )
            await conn.execute(
                update(self.tables.jobs)
                .where(self.tables.jobs.c.id == job_id)
                .values(canceled=False)
            )
            await refresh_job_states(conn, self.tables, [job_id], now)
            await notify(conn, self.changes_channel, job_id)
        return [item_from_row(row) for row in rows]

    async def _items_of(self, conn: AsyncConnection, job_ids: list[str]) -> list[ItemRecord]:
        if not job_ids:
            return []
        items = self.tables.items
        query = (
            select(items).where(items.c.job_id.in_(job_ids)).order_by(items.c.job_id, items.c.idx)
        )
        return [item_from_row(row) for row in await conn.execute(query)]

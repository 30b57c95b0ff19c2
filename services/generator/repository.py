"""Persistence of jobs, items and webhook deliveries (SQLAlchemy 2 async Core; SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reelforge.runtime.leases import LeasedTable, add_missing_columns, lock_schema
from reelforge.runtime.pg_notify import notify
from reelforge.v1 import generator_pb2 as pb
from services.generator.catalog import Kind
from services.generator.coalesced import CoalescedLookup
from services.generator.group_commit import GroupCommit, ItemWrite, WebhookWrite
from services.generator.records import (
    TERMINAL_ITEM_STATES,
    ItemRecord,
    JobRecord,
    derive_job_state,
    outputs_from_json,
)
from services.generator.schema import Tables, build_tables


class Repository:
    """All SQL of the service. Writes go through ``_write`` so SQLite sees one writer at a time."""

    def __init__(self, engine: AsyncEngine, prefix: str) -> None:
        self._engine = engine
        self.tables: Tables = build_tables(prefix)
        # SQLite fails (not waits) when two transactions upgrade to writing at once; serialize them.
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._group = (
            GroupCommit(engine, self._write_lock, self.tables, self._refresh_job_states)
            if self._write_lock
            else None
        )
        # Items starting together (a new job, a resume) look the cache up in one query.
        self._cache_lookups = CoalescedLookup[str, ItemRecord](self._find_cached_many)
        # PostgreSQL NOTIFY channels: "a job changed" (payload: job id) and "wake the runner of
        # this prediction" (payload: prediction id; a webhook landed on another replica).
        self.changes_channel = f"{prefix}changes"
        self.wake_channel = f"{prefix}wake"
        items = self.tables.items
        self.leased_items = LeasedTable(
            items, items.c.state.not_in(TERMINAL_ITEM_STATES), items.c.created_at
        )

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    def write_transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A write transaction (serialised on SQLite), for the lease queries."""
        return self._write()

    async def create_schema(self) -> None:
        """Creates missing tables, and adds columns newer versions need to tables made by older ones."""
        async with self._engine.begin() as conn:
            await lock_schema(conn, self.tables.items.name)
            await conn.run_sync(self.tables.metadata.create_all)
            await add_missing_columns(conn, self.tables.items)

    async def drop_schema(self) -> None:
        async with self._engine.begin() as conn:
            await conn.run_sync(self.tables.metadata.drop_all)

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self._write_lock is None:
            async with self._engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self._engine.begin() as conn:
            yield conn

    # ---- jobs -------------------------------------------------------------------------------

    async def insert_job(self, job: JobRecord, lease: Mapping[str, Any] | None = None) -> None:
        """Stores the job and its items; ``lease`` (owner, expiry) makes the items this process's."""
        t = self.tables
        rows = [{**_item_values(item), **(lease or {})} for item in job.items]
        async with self._write() as conn:
            await conn.execute(insert(t.jobs).values(_job_values(job)))
            await conn.execute(insert(t.items), rows)
            await notify(conn, self.changes_channel, job.id)

    async def load_job(self, job_id: str) -> JobRecord | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(self.tables.jobs).where(self.tables.jobs.c.id == job_id))
            ).first()
            if row is None:
                return None
            job = _job_from_row(row)
            job.items = await self._items_of(conn, [job.id])
            return job

    async def list_jobs(
        self, *, limit: int, after: tuple[float, str] | None, state: int, kind: str
    ) -> list[JobRecord]:
        """Newest first; ``after`` is the (created_at, id) of the last job of the previous page."""
        jobs = self.tables.jobs
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
        if after is not None:
            created, job_id = after
            query = query.where(
                or_(
                    jobs.c.created_at < created,
                    and_(jobs.c.created_at == created, jobs.c.id < job_id),
                )
            )
        if state:
            query = query.where(jobs.c.state == state)
        if kind:
            query = query.where(jobs.c.kind == kind)
        async with self._engine.connect() as conn:
            records = [_job_from_row(row) for row in await conn.execute(query)]
            items = await self._items_of(conn, [job.id for job in records])
        for job in records:
            job.items = [item for item in items if item.job_id == job.id]
        return records

    async def mark_job_canceled(self, job_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(self.tables.jobs)
                .where(self.tables.jobs.c.id == job_id)
                .values(canceled=True)
            )
            await notify(conn, self.changes_channel, job_id)

    # ---- items ------------------------------------------------------------------------------

    async def update_item(
        self,
        item: ItemRecord,
        *,
        only_if_active: bool = True,
        fence: str | None = None,
        **values: Any,
    ) -> bool:
        """Writes ``values`` to the item (and the record); refuses to touch a terminal item unless told.

        With ``fence`` (an owner id) the write also requires the item's lease to be that owner's,
        so a replica that lost the item cannot write over its new owner (PostgreSQL; on SQLite
        the one process always holds the lease). Returns whether the row changed. The job's
        derived state is refreshed in the same transaction.
        """
        items = self.tables.items
        now = time.time()
        stored = {key: _column_value(key, value) for key, value in values.items()}
        # The job's state can only change when an item leaves QUEUED or reaches a terminal state.
        refresh = "state" in values and (
            item.state == pb.ITEM_STATE_QUEUED or values["state"] in TERMINAL_ITEM_STATES
        )
        if self._group is not None:
            write = ItemWrite(
                item.id,
                {**stored, "updated_at": now},
                only_if_active,
                item.job_id if refresh else None,
            )
            changed = await self._group.update_item(write)
        else:
            query = update(items).where(items.c.id == item.id).values(**stored, updated_at=now)
            if only_if_active:
                query = query.where(items.c.state.not_in(TERMINAL_ITEM_STATES))
            if fence is not None:
                query = query.where(items.c.owner == fence)
            async with self._write() as conn:
                changed = (await conn.execute(query)).rowcount == 1
                if changed and refresh:
                    await self._refresh_job_states(conn, [item.job_id], now)
                if changed:
                    await notify(conn, self.changes_channel, item.job_id)
        if changed:
            for key, value in values.items():
                setattr(item, key, value)
            item.updated_at = now
        return changed

    async def item_by_prediction(self, prediction_id: str) -> ItemRecord | None:
        items = self.tables.items
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(items).where(items.c.prediction_id == prediction_id))
            ).first()
        return _item_from_row(row) if row else None

    async def items_by_ids(self, item_ids: Collection[str]) -> list[ItemRecord]:
        """The items (oldest first), e.g. the ones a lease round just claimed."""
        items = self.tables.items
        ordered = sorted(item_ids)
        found: list[ItemRecord] = []
        async with self._engine.connect() as conn:
            for start in range(0, len(ordered), 500):
                query = select(items).where(items.c.id.in_(ordered[start : start + 500]))
                found.extend(_item_from_row(row) for row in await conn.execute(query))
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
            items.c.prediction_id.is_not(None), items.c.updated_at >= since
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
            partition_by=items.c.cache_key, order_by=items.c.created_at.desc()
        )
        ranked = (
            select(items, newest_first.label("rank"))
            .where(
                items.c.cache_key.in_(cache_keys),
                items.c.state == pb.ITEM_STATE_SUCCEEDED,
                items.c.outputs != "[]",
            )
            .subquery()
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(ranked).where(ranked.c.rank == 1))
            return {row.cache_key: _item_from_row(row) for row in rows}

    async def reset_items(
        self, job_id: str, states: Sequence[int], lease: Mapping[str, Any] | None = None
    ) -> list[ItemRecord]:
        """Puts the job's items in ``states`` back to QUEUED (RetryJob), leased as given; returns them."""
        items = self.tables.items
        now = time.time()
        where = and_(items.c.job_id == job_id, items.c.state.in_(states))
        async with self._write() as conn:
            rows = list(await conn.execute(select(items).where(where)))
            await conn.execute(
                update(items)
                .where(where)
                .values(
                    state=pb.ITEM_STATE_QUEUED,
                    prediction_id=None,
                    error="",
                    deadline_at=0.0,
                    submit_started_at=0.0,
                    updated_at=now,
                    **(lease or {}),
                )
            )
            await conn.execute(
                update(self.tables.jobs)
                .where(self.tables.jobs.c.id == job_id)
                .values(canceled=False)
            )
            await self._refresh_job_states(conn, [job_id], now)
            await notify(conn, self.changes_channel, job_id)
        return [_item_from_row(row) for row in rows]

    async def _items_of(self, conn: AsyncConnection, job_ids: list[str]) -> list[ItemRecord]:
        if not job_ids:
            return []
        items = self.tables.items
        query = (
            select(items).where(items.c.job_id.in_(job_ids)).order_by(items.c.job_id, items.c.idx)
        )
        return [_item_from_row(row) for row in await conn.execute(query)]

    async def _refresh_job_states(
        self, conn: AsyncConnection, job_ids: Sequence[str], now: float
    ) -> None:
        """Re-derives each job's state from its items' states, in the caller's transaction."""
        jobs, items = self.tables.jobs, self.tables.items
        ordered = sorted(set(job_ids))
        # Lock the job rows first, in id order (no deadlock between two writers): two items
        # finishing at once must not both read the other's old state.
        locked = (
            select(jobs.c.id, jobs.c.canceled)
            .where(jobs.c.id.in_(ordered))
            .order_by(jobs.c.id)
            .with_for_update()
        )
        canceled = {row.id: bool(row.canceled) for row in await conn.execute(locked)}
        states: defaultdict[str, list[int]] = defaultdict(list)
        query = select(items.c.job_id, items.c.state).where(items.c.job_id.in_(ordered))
        for row in await conn.execute(query):
            states[row.job_id].append(row.state)
        rows = [
            {"b_id": job_id, "b_state": derive_job_state(states[job_id], is_canceled)}
            for job_id, is_canceled in canceled.items()
        ]
        if rows:
            statement = (
                update(jobs)
                .where(jobs.c.id == bindparam("b_id"))
                .values(state=bindparam("b_state"), updated_at=now)
            )
            await conn.execute(statement, rows)

    # ---- webhooks ---------------------------------------------------------------------------

    async def remember_webhook(self, webhook_id: str, prediction_id: str) -> bool:
        """Records a delivery id; False when it had been seen (a redelivery or a replay)."""
        if self._group is not None:
            return await self._group.remember_webhook(
                WebhookWrite(webhook_id, prediction_id, time.time())
            )
        try:
            async with self._write() as conn:
                await conn.execute(
                    insert(self.tables.webhooks).values(
                        webhook_id=webhook_id, prediction_id=prediction_id, received_at=time.time()
                    )
                )
        except IntegrityError:
            return False
        return True

    async def forget_webhooks_before(self, cutoff: float) -> None:
        hooks = self.tables.webhooks
        async with self._write() as conn:
            await conn.execute(delete(hooks).where(hooks.c.received_at < cutoff))

    async def count_jobs(self) -> int:
        async with self._engine.connect() as conn:
            return int(
                (
                    await conn.execute(select(func.count()).select_from(self.tables.jobs))
                ).scalar_one()
            )


def _column_value(key: str, value: Any) -> Any:
    if key == "outputs":
        return json.dumps([vars(meta) for meta in value])
    if key == "prediction_id":
        return value or None
    return value


def _job_values(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind.value,
        "state": job.state,
        "tier": job.tier,
        "aspect_ratio": job.aspect_ratio,
        "provider": job.provider,
        "model": job.model,
        "estimated_cost_micros": job.estimated_cost_micros,
        "canceled": job.canceled,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def _item_values(item: ItemRecord) -> dict[str, Any]:
    return {
        "id": item.id,
        "job_id": item.job_id,
        "idx": item.index,
        "kind": item.kind.value,
        "state": item.state,
        "provider": item.provider,
        "model": item.model,
        "spec": json.dumps(item.spec, sort_keys=True),
        "input": json.dumps(item.input, sort_keys=True),
        "cache_key": item.cache_key,
        "prediction_id": item.prediction_id or None,
        "attempts": item.attempts,
        "outputs": item.outputs_json(),
        "error": item.error,
        "estimated_cost_micros": item.estimated_cost_micros,
        "actual_cost_micros": item.actual_cost_micros,
        "cached": item.cached,
        "submit_started_at": item.submit_started_at,
        "deadline_at": item.deadline_at,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _job_from_row(row: Row[Any]) -> JobRecord:
    m = row._mapping
    return JobRecord(
        id=m["id"],
        kind=Kind(m["kind"]),
        state=m["state"],
        tier=m["tier"],
        aspect_ratio=m["aspect_ratio"],
        provider=m["provider"],
        model=m["model"],
        estimated_cost_micros=m["estimated_cost_micros"],
        canceled=bool(m["canceled"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _item_from_row(row: Row[Any]) -> ItemRecord:
    m = row._mapping
    return ItemRecord(
        id=m["id"],
        job_id=m["job_id"],
        index=m["idx"],
        kind=Kind(m["kind"]),
        state=m["state"],
        provider=m["provider"],
        model=m["model"],
        spec=json.loads(m["spec"]),
        input=json.loads(m["input"]),
        cache_key=m["cache_key"],
        estimated_cost_micros=m["estimated_cost_micros"],
        prediction_id=m["prediction_id"] or "",
        attempts=m["attempts"],
        outputs=outputs_from_json(m["outputs"]),
        error=m["error"],
        actual_cost_micros=m["actual_cost_micros"],
        cached=bool(m["cached"]),
        submit_started_at=m["submit_started_at"],
        deadline_at=m["deadline_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )

"""SQLite group commit: the writes of many concurrent items share one transaction and few round trips.

SQLite has one writer at a time, and through aiosqlite every statement is a round trip
to the database thread that waits for a turn of a busy event loop (~1 ms of CPU each,
far more wall time under load). So the writes queued while a batch runs go together
into the next one: one SELECT learns which items may still change, then one
``executemany`` per statement shape applies them, then the touched jobs are refreshed
together. A batch of 200 item updates costs a handful of round trips instead of 200+.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.generator.records import TERMINAL_ITEM_STATES
from services.generator.schema import Tables

RefreshJobs = Callable[[AsyncConnection, Sequence[str], float], Awaitable[None]]
_IN_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-variable limit


@dataclass
class ItemWrite:
    """One item update: ``values`` are column values as stored (``updated_at`` included)."""

    item_id: str
    values: dict[str, Any]
    only_if_active: bool
    refresh_job: str | None  # the job whose derived state this write may change
    done: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class WebhookWrite:
    webhook_id: str
    prediction_id: str
    received_at: float
    done: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


_Write = ItemWrite | WebhookWrite


class GroupCommit:
    def __init__(
        self, engine: AsyncEngine, lock: asyncio.Lock, tables: Tables, refresh: RefreshJobs
    ) -> None:
        self._engine = engine
        self._lock = lock
        self._tables = tables
        self._refresh = refresh
        self._queue: list[_Write] = []
        self._task: asyncio.Task[None] | None = None
        self._statements: dict[tuple[str, ...], Update] = {}

    async def update_item(self, write: ItemWrite) -> bool:
        """True when the row changed (False: the item was terminal and ``only_if_active``)."""
        return await self._submit(write)

    async def remember_webhook(self, write: WebhookWrite) -> bool:
        """True for a new delivery id, False for one seen before."""
        return await self._submit(write)

    async def _submit(self, write: _Write) -> bool:
        self._queue.append(write)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await write.done

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await self._run(batch)
            except Exception as error:
                if len(batch) > 1:
                    # One bad write (e.g. a prediction id another item owns) must not fail the
                    # others batched with it: apply them one by one, each getting its own answer.
                    for write in batch:
                        await self._run_alone(write)
                    continue
                for write in batch:
                    if not write.done.done():
                        write.done.set_exception(error)
                continue
            for write, ok in zip(batch, results, strict=True):
                if not write.done.done():
                    write.done.set_result(ok)

    async def _run_alone(self, write: _Write) -> None:
        try:
            (ok,) = await self._run([write])
        except Exception as error:
            if not write.done.done():
                write.done.set_exception(error)
            return
        if not write.done.done():
            write.done.set_result(ok)

    async def _run(self, batch: list[_Write]) -> list[bool]:
        items = [w for w in batch if isinstance(w, ItemWrite)]
        hooks = [w for w in batch if isinstance(w, WebhookWrite)]
        async with self._lock, self._engine.begin() as conn:
            item_results = await self._apply_item_writes(conn, items)
            hook_results = await self._insert_webhooks(conn, hooks)
            jobs = {w.refresh_job for w in items if w.refresh_job and item_results[id(w)]}
            if jobs:
                await self._refresh(conn, sorted(jobs), time.time())
        results = item_results | hook_results
        return [results[id(w)] for w in batch]

    async def _apply_item_writes(
        self, conn: AsyncConnection, writes: list[ItemWrite]
    ) -> dict[int, bool]:
        if not writes:
            return {}
        items = self._tables.items
        states: dict[str, int] = {}
        ids = sorted({w.item_id for w in writes})
        for start in range(0, len(ids), _IN_CHUNK):
            query = select(items.c.id, items.c.state).where(
                items.c.id.in_(ids[start : start + _IN_CHUNK])
            )
            states.update({row.id: row.state for row in await conn.execute(query)})
        # Decide in arrival order, as if each write ran alone: a cancel queued before a
        # runner's write makes that write a no-op, exactly like the single-statement path.
        results: dict[int, bool] = {}
        applied: list[ItemWrite] = []
        for write in writes:
            state = states.get(write.item_id)
            ok = state is not None and not (write.only_if_active and state in TERMINAL_ITEM_STATES)
            results[id(write)] = ok
            if ok and state is not None:
                states[write.item_id] = int(write.values.get("state", state))
                applied.append(write)
        for group in _rounds_by_shape(applied):
            columns = tuple(sorted(group[0].values))
            rows = [
                {"b_id": w.item_id, **{f"b_{key}": w.values[key] for key in columns}} for w in group
            ]
            await conn.execute(self._statement(columns), rows)
        return results

    def _statement(self, columns: tuple[str, ...]) -> Update:
        statement = self._statements.get(columns)
        if statement is None:
            items = self._tables.items
            statement = (
                update(items)
                .where(items.c.id == bindparam("b_id"))
                .values({key: bindparam(f"b_{key}") for key in columns})
            )
            self._statements[columns] = statement
        return statement

    async def _insert_webhooks(
        self, conn: AsyncConnection, writes: list[WebhookWrite]
    ) -> dict[int, bool]:
        if not writes:
            return {}
        hooks = self._tables.webhooks
        wanted = sorted({w.webhook_id for w in writes})
        seen: set[str] = set()
        for start in range(0, len(wanted), _IN_CHUNK):
            query = select(hooks.c.webhook_id).where(
                hooks.c.webhook_id.in_(wanted[start : start + _IN_CHUNK])
            )
            seen.update((await conn.execute(query)).scalars())
        results: dict[int, bool] = {}
        rows = []
        for write in writes:
            results[id(write)] = write.webhook_id not in seen
            if results[id(write)]:
                seen.add(write.webhook_id)  # a second copy in the same batch is a duplicate
                rows.append(
                    {
                        "webhook_id": write.webhook_id,
                        "prediction_id": write.prediction_id,
                        "received_at": write.received_at,
                    }
                )
        if rows:
            await conn.execute(sqlite_insert(hooks).on_conflict_do_nothing(), rows)
        return results


def _rounds_by_shape(writes: list[ItemWrite]) -> list[list[ItemWrite]]:
    """Groups for ``executemany``, in an order that keeps each item's writes in sequence.

    Round n holds every item's n-th write of the batch; within a round, writes with the
    same columns share a statement. Items rarely get two writes in one batch (a cancel
    racing a runner), so there is almost always one round.
    """
    seen_per_item: dict[str, int] = defaultdict(int)
    rounds: list[dict[tuple[str, ...], list[ItemWrite]]] = []
    for write in writes:
        index = seen_per_item[write.item_id]
        seen_per_item[write.item_id] += 1
        if index == len(rounds):
            rounds.append({})
        rounds[index].setdefault(tuple(sorted(write.values)), []).append(write)
    return [group for shapes in rounds for group in shapes.values()]

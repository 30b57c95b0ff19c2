"""How an item update reaches the database: one protocol, a strategy per dialect, one fence rule.

Both strategies apply the same rule (``ItemWrite.allowed``): a write lands only on an active
item (unless it says otherwise) whose lease is still the writer's (when it names one), and the
job's derived state is refreshed in the same transaction. PostgreSQL says it in one conditional
UPDATE (``ItemWrite.conditions``); SQLite reads the rows of a whole batch and decides in
arrival order, as if each write ran alone (see ``group_commit.py``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from reelforge.runtime.database import chunks
from reelforge.runtime.pg_notify import notify
from services.generator.group_commit import GroupCommit
from services.generator.records import TERMINAL_ITEM_STATES, ItemState, derive_job_state
from services.generator.rows import item_state, item_state_names, job_state_name, to_us
from services.generator.schema import Tables
from services.generator.transactions import WriteTransactions


@dataclass(frozen=True)
class ItemWrite:
    """One item update as the database sees it."""

    item_id: str
    job_id: str
    columns: Mapping[str, Any]  # the changed columns, as stored
    updated_at: float
    only_if_active: bool
    fence: str | None  # the lease owner the row must still have; None: whoever holds it
    refresh_job: bool  # the job's derived state may change

    @property
    def values(self) -> dict[str, Any]:
        return {**self.columns, "updated_us": to_us(self.updated_at)}

    def allowed(self, state: ItemState, owner: str | None) -> bool:
        """Whether the write lands on a row in ``state`` leased to ``owner``."""
        if self.only_if_active and state in TERMINAL_ITEM_STATES:
            return False
        return self.fence is None or owner == self.fence

    def conditions(self, items: Table) -> list[ColumnElement[bool]]:
        """:meth:`allowed` as WHERE clauses."""
        where = [items.c.id == self.item_id]
        if self.only_if_active:
            where.append(items.c.state.not_in(item_state_names(TERMINAL_ITEM_STATES)))
        if self.fence is not None:
            where.append(items.c.owner == self.fence)
        return where


class ItemWrites(Protocol):
    async def write(self, write: ItemWrite) -> bool:
        """True when the write landed; False when the rule refused it."""


def item_writes(transactions: WriteTransactions, tables: Tables, channel: str) -> ItemWrites:
    """The strategy for the database: batched on SQLite, one statement on PostgreSQL."""
    if transactions.group is not None:
        return GroupCommittedWrites(transactions.group, tables)
    return StatementWrites(transactions, tables, channel)


class StatementWrites:
    """PostgreSQL: one conditional UPDATE per write; concurrent writers are ordered by row locks."""

    def __init__(self, transactions: WriteTransactions, tables: Tables, channel: str) -> None:
        self._transactions = transactions
        self._tables = tables
        self._channel = channel  # NOTIFY: other replicas' watchers re-read the job

    async def write(self, write: ItemWrite) -> bool:
        items = self._tables.items
        query = update(items).where(*write.conditions(items)).values(write.values)
        async with self._transactions.begin() as conn:
            changed = (await conn.execute(query)).rowcount == 1
            if changed and write.refresh_job:
                await refresh_job_states(conn, self._tables, [write.job_id], write.updated_at)
            if changed:
                await notify(conn, self._channel, write.job_id)
        return changed


class GroupCommittedWrites:
    """SQLite: the writes queued while a batch runs go together into the next transaction."""

    def __init__(self, group: GroupCommit, tables: Tables) -> None:
        self._group = group
        self._tables = tables
        self._statements: dict[tuple[str, ...], Update] = {}

    async def write(self, write: ItemWrite) -> bool:
        return await self._group.submit(self._apply, write)

    async def _apply(self, conn: AsyncConnection, writes: list[ItemWrite]) -> list[bool]:
        rows = await self._current(conn, sorted({w.item_id for w in writes}))
        # Decide in arrival order, as if each write ran alone: a cancel queued before a
        # runner's write makes that write a no-op, exactly like the single-statement path.
        results: list[bool] = []
        applied: list[ItemWrite] = []
        for write in writes:
            row = rows.get(write.item_id)
            ok = row is not None and write.allowed(*row)
            results.append(ok)
            if ok and row is not None:
                stored = write.columns.get("state")
                rows[write.item_id] = (row[0] if stored is None else item_state(stored), row[1])
                applied.append(write)
        for group in _rounds_by_shape(applied):
            columns = tuple(sorted(group[0].values))
            params = [
                {"b_id": w.item_id, **{f"b_{key}": value for key, value in w.values.items()}}
                for w in group
            ]
            await conn.execute(self._statement(columns), params)
        jobs = {w.job_id for w in applied if w.refresh_job}
        if jobs:
            await refresh_job_states(conn, self._tables, sorted(jobs), time.time())
        return results

    async def _current(
        self, conn: AsyncConnection, ids: Sequence[str]
    ) -> dict[str, tuple[ItemState, str | None]]:
        """Each item's (state, lease owner) as the batch starts."""
        items = self._tables.items
        found: dict[str, tuple[ItemState, str | None]] = {}
        for chunk in chunks(ids):
            query = select(items.c.id, items.c.state, items.c.owner).where(items.c.id.in_(chunk))
            rows = await conn.execute(query)
            found.update({row.id: (item_state(row.state), row.owner) for row in rows})
        return found

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


async def refresh_job_states(
    conn: AsyncConnection, tables: Tables, job_ids: Sequence[str], now: float
) -> None:
    """Re-derives each job's state from its items' states, in the caller's transaction."""
    jobs, items = tables.jobs, tables.items
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
    states: defaultdict[str, list[ItemState]] = defaultdict(list)
    query = select(items.c.job_id, items.c.state).where(items.c.job_id.in_(ordered))
    for row in await conn.execute(query):
        states[row.job_id].append(item_state(row.state))
    rows = [
        {"b_id": job_id, "b_state": job_state_name(derive_job_state(states[job_id], is_canceled))}
        for job_id, is_canceled in canceled.items()
    ]
    if rows:
        statement = (
            update(jobs)
            .where(jobs.c.id == bindparam("b_id"))
            .values(state=bindparam("b_state"), updated_us=to_us(now))
        )
        await conn.execute(statement, rows)


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
        rounds[index].setdefault(tuple(sorted(write.columns)), []).append(write)
    return [group for shapes in rounds for group in shapes.values()]

"""Row leases: replicas sharing one database each run only the work rows they hold a lease on.

A lease is two columns on the work row: ``owner`` (a process id) and ``lease_expires_at``
(unix seconds). New work is inserted already leased to the process that accepted it;
``LeaseKeeper`` renews what this process holds every TTL/3 and, every TTL/2, claims rows
nobody holds (owner unset or lease expired) with ``SELECT … FOR UPDATE SKIP LOCKED``, so two
replicas claiming at once never take the same row. A replica that dies stops renewing, and
another takes its rows over within about 1.5 × TTL. Replicas' clocks must agree to well within
the TTL.

On SQLite the process is the only possible owner (``exclusive``): a lease there is never
contested, so a restarted process takes every unfinished row at once, whoever the dead owner
was, instead of waiting out leases nobody can renew, and paid calls need no margin check.
Two processes on one SQLite file are not supported (the docs say so): use PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from sqlalchemy import Column, Float, String, Table, inspect, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql.elements import ColumnElement

from reelforge.runtime.database import chunks
from reelforge.runtime.tasks import cancel_and_wait, periodic

_LOGGER = logging.getLogger(__name__)

WriteTransaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
OnClaimed = Callable[[list[str]], Awaitable[None]]
OnLost = Callable[[set[str]], Awaitable[None]]


class LeaseLost(Exception):
    """The row is no longer this process's: its lease expired and another replica claimed it."""


def process_owner_id() -> str:
    """Unique per process start: a restarted process on the same host does not inherit leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_columns() -> list[Column[Any]]:
    """The two columns a leased table carries (server defaults so they can be added to old tables)."""
    return [
        Column("owner", String(120), nullable=True),
        Column("lease_expires_at", Float, nullable=False, server_default=text("0")),
    ]


async def lock_schema(conn: AsyncConnection, name: str) -> None:
    """Serialises schema creation and migration between replicas starting together (PostgreSQL
    transaction-scoped advisory lock; SQLite has one process)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})


async def add_missing_columns(conn: AsyncConnection, table: Table) -> list[str]:
    """Migrates a table created by an older version: ``ALTER TABLE … ADD COLUMN`` for each new column."""
    existing = await conn.run_sync(
        lambda sync: {column["name"] for column in inspect(sync).get_columns(table.name)}
    )
    missing = [column for column in table.columns if column.name not in existing]
    preparer = conn.dialect.identifier_preparer
    for column in missing:
        definition = CreateColumn(column).compile(dialect=conn.dialect)
        await conn.execute(
            text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {definition}")
        )
    if missing:
        _LOGGER.info("added columns %s to %s", [c.name for c in missing], table.name)
    return [column.name for column in missing]


@dataclass(frozen=True)
class LeasedTable:
    """Which rows of ``table`` are work (``active``) and in which order to claim them."""

    table: Table
    active: ColumnElement[bool]
    claim_order: ColumnElement[Any]


class Leases:
    """Claims, renews and releases this process's leases on one table's rows."""

    def __init__(
        self,
        leased: LeasedTable,
        *,
        owner: str,
        ttl_s: float,
        write: WriteTransaction,
        exclusive: bool = False,
    ) -> None:
        self._leased = leased
        self._table = leased.table
        self.owner = owner
        self.ttl_s = ttl_s
        self.exclusive = exclusive
        self._write = write
        # Until the first renewal, leases taken now are good for one TTL.
        self._valid_until = time.monotonic() + ttl_s

    def fresh(self) -> dict[str, Any]:
        """Column values for a row this process inserts (or resets) and will run itself."""
        return {"owner": self.owner, "lease_expires_at": time.time() + self.ttl_s}

    def safe_for(self, margin_s: float) -> bool:
        """Whether every lease renewed last time still holds for ``margin_s`` (checked before paid calls)."""
        return self.exclusive or time.monotonic() + margin_s < self._valid_until

    async def claim(self) -> list[str]:
        """Takes every active row nobody holds; rows another replica is claiming are skipped, not waited on."""
        t = self._table
        started = time.time()
        free = or_(t.c.owner.is_(None), t.c.lease_expires_at < started)
        if self.exclusive:
            # Sole owner: another owner id can only be an earlier, dead run of this service.
            free = or_(free, t.c.owner != self.owner)
        query = (
            select(t.c.id)
            .where(self._leased.active, free)
            .order_by(self._leased.claim_order)
            .with_for_update(skip_locked=True)
        )
        async with self._write() as conn:
            ids = [str(value) for value in (await conn.execute(query)).scalars()]
            for chunk in chunks(ids):
                await conn.execute(
                    update(t)
                    .where(t.c.id.in_(chunk))
                    .values(owner=self.owner, lease_expires_at=started + self.ttl_s)
                )
        return ids

    async def renew(self, ids: Collection[str]) -> set[str]:
        """Extends the leases still ours on active rows; returns their ids (the others are lost).

        Renewing nothing still counts as a renewal: holding no row, this process has no lease
        that could have lapsed, and rows it inserts or claims from now on are fresh.
        """
        t = self._table
        started = time.monotonic()
        expires = time.time() + self.ttl_s
        held: set[str] = set()
        if not ids:
            self._valid_until = started + self.ttl_s
            return held
        async with self._write() as conn:
            for chunk in chunks(sorted(ids)):
                statement = (
                    update(t)
                    .where(t.c.id.in_(chunk), t.c.owner == self.owner, self._leased.active)
                    .values(lease_expires_at=expires)
                    .returning(t.c.id)
                )
                held.update(str(value) for value in (await conn.execute(statement)).scalars())
        self._valid_until = started + self.ttl_s
        return held

    async def release(self, ids: Collection[str]) -> None:
        """Gives rows back at once (graceful stop), so another replica need not wait for expiry."""
        t = self._table
        async with self._write() as conn:
            for chunk in chunks(sorted(ids)):
                await conn.execute(
                    update(t)
                    .where(t.c.id.in_(chunk), t.c.owner == self.owner)
                    .values(owner=None, lease_expires_at=0.0)
                )

    async def hand_back(self, ids: Collection[str]) -> None:
        """Releases ``ids`` at shutdown. A database already unreachable then only delays the
        takeover (the leases expire within a TTL), so the failure is logged, not raised."""
        try:
            await self.release(ids)
        except (OSError, SQLAlchemyError) as error:
            _LOGGER.warning("could not release %s leases (%s); they expire", len(ids), error)

    async def owners(self, ids: Collection[str]) -> dict[str, str | None]:
        """The current owner of each row (None: released)."""
        t = self._table
        found: dict[str, str | None] = {}
        async with self._write() as conn:
            for chunk in chunks(sorted(ids)):
                rows = await conn.execute(select(t.c.id, t.c.owner).where(t.c.id.in_(chunk)))
                found.update({str(row.id): row.owner for row in rows})
        return found


def process_leases(
    leased: LeasedTable, database: AsyncEngine, write: WriteTransaction, ttl_s: float
) -> Leases:
    """This process's leases on one table, as every service holds them: a fresh owner id per
    process start, and on SQLite the process is the only owner (see ``Leases``'s exclusive)."""
    return Leases(
        leased,
        owner=process_owner_id(),
        ttl_s=ttl_s,
        write=write,
        exclusive=database.dialect.name == "sqlite",
    )


@dataclass(eq=False)
class LeaseKeeper:
    """Background heartbeat (renew every TTL/3) and claim rounds (every TTL/2) of one ``Leases``:
    ``held`` says which rows the owner still works on, ``on_claimed`` runs rows a claim round
    took, ``on_lost`` stops rows a heartbeat found taken."""

    leases: Leases
    _: KW_ONLY
    held: Callable[[], Collection[str]]
    on_claimed: OnClaimed
    on_lost: OnLost
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    async def start(self) -> int:
        """Claims what is free now (start-up resume), then keeps renewing and claiming."""
        claimed = await self._claim_round()
        ttl = self.leases.ttl_s
        # A round that fails (a database hiccup) is logged and the next one tries again:
        # leases last a whole TTL, three heartbeats.
        self._tasks = [
            asyncio.create_task(
                periodic(ttl / 3, self._heartbeat, what="lease heartbeat", logger=_LOGGER),
                name="lease-heartbeat",
            ),
            asyncio.create_task(
                periodic(ttl / 2, self._claim_round, what="lease claim round", logger=_LOGGER),
                name="lease-claims",
            ),
        ]
        return claimed

    async def stop(self) -> None:
        """Stops renewing and claiming (idempotent); held rows keep their leases until released."""
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def _heartbeat(self) -> None:
        held = set(self.held())
        # Runs when idle too: an idle process must not carry a stale renewal time into the
        # margin check of its next paid call (that check would fail for every later item).
        renewed = await self.leases.renew(held)
        # Rows finished meanwhile, or taken by another replica: the owner of the work decides.
        lost = held - renewed
        if lost:
            await self.on_lost(lost)

    async def _claim_round(self) -> int:
        claimed = await self.leases.claim()
        if claimed:
            _LOGGER.info("claimed %s rows", len(claimed), extra={"claimed": len(claimed)})
            await self.on_claimed(claimed)
        return len(claimed)


class LeasedTasks:
    """One background task per row this process holds a lease on (a render, an ad's run).

    A task is forgotten when it ends. ``start()`` starts the keeper: it claims what nobody
    holds (``on_claimed`` runs it again), renews, and cancels, without any write, the task of
    a row whose lease another replica took. ``stop()`` cancels every task and hands the leases
    back, so another replica or the next start continues the work.
    """

    def __init__(self, leases: Leases, *, what: str, on_claimed: OnClaimed) -> None:
        self.leases = leases
        self._what = what
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._keeper = LeaseKeeper(
            leases, held=lambda: list(self._tasks), on_claimed=on_claimed, on_lost=self._stop_lost
        )

    def __contains__(self, key: str) -> bool:
        return key in self._tasks

    def get(self, key: str) -> asyncio.Task[None] | None:
        return self._tasks.get(key)

    def run(self, key: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name=f"{self._what}-{key}")
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def start(self) -> int:
        """Claims and runs what is unfinished now; returns how many rows it claimed."""
        return await self._keeper.start()

    async def stop(self) -> None:
        await self._keeper.stop()
        held = list(self._tasks)
        await cancel_and_wait(list(self._tasks.values()))
        await self.leases.hand_back(held)

    async def _stop_lost(self, keys: set[str]) -> None:
        owners = await self.leases.owners(keys)
        for key in keys:
            task = self._tasks.get(key)
            if task is not None and owners.get(key) != self.leases.owner:
                _LOGGER.warning("%s %s: lease lost; stopping it", self._what, key)
                task.cancel()

"""Lease mechanics on a real PostgreSQL database, one piece at a time: claims under contention,
fenced writes, release, the margin check before paid calls, the schema lock and LISTEN reconnect.

The composer's table stands in for every leased table (the generator uses the same ``Leases``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from reelforge.runtime.database import create_engine, database_url
from reelforge.runtime.leases import LeaseKeeper, LeaseLost, Leases
from reelforge.runtime.pg_notify import PgListener, notify
from reelforge.v1 import composer_pb2
from services.composer.repository import LEASED, CompositionRepository, compositions

ROWS = 120
TTL_S = 30.0


@pytest.fixture
async def engines(pg_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Two engines on one fresh database: two replicas' connection pools."""
    made = [create_engine(database_url(pg_url, Path("."), "composer")) for _ in range(2)]
    await CompositionRepository(made[0]).create_schema()
    yield made
    for engine in made:
        await engine.dispose()


def _leases(engine: AsyncEngine, owner: str, ttl_s: float = TTL_S) -> Leases:
    return Leases(
        LEASED, owner=owner, ttl_s=ttl_s, write=CompositionRepository(engine).write_transaction
    )


async def _unleased_rows(engine: AsyncEngine, count: int) -> list[str]:
    repository = CompositionRepository(engine)
    request = composer_pb2.ComposeRequest(clips=[composer_pb2.ClipInput(source="x")])
    return [(await repository.create(request)).id for _ in range(count)]


async def test_two_replicas_claiming_at_once_never_take_the_same_row(
    engines: list[AsyncEngine],
) -> None:
    ids = set(await _unleased_rows(engines[0], ROWS))
    a, b = _leases(engines[0], "replica-a"), _leases(engines[1], "replica-b")
    claimed_a: list[str] = []
    claimed_b: list[str] = []
    for _ in range(3):  # later rounds find nothing free: every row is leased by then
        got_a, got_b = await asyncio.gather(a.claim(), b.claim())
        claimed_a += got_a
        claimed_b += got_b
    assert not set(claimed_a) & set(claimed_b)
    assert set(claimed_a) | set(claimed_b) == ids
    owners = await a.owners(ids)
    assert {owners[i] for i in claimed_a} <= {"replica-a"}
    assert {owners[i] for i in claimed_b} <= {"replica-b"}


async def test_a_write_fenced_by_a_lost_lease_raises_and_changes_nothing(
    engines: list[AsyncEngine],
) -> None:
    [row_id] = await _unleased_rows(engines[0], 1)
    repository = CompositionRepository(engines[0])
    old = _leases(engines[0], "replica-a", ttl_s=0.5)
    assert await old.claim() == [row_id]
    await asyncio.sleep(0.6)  # replica-a stops renewing (paused, partitioned): its lease runs out
    assert await _leases(engines[1], "replica-b").claim() == [row_id]

    with pytest.raises(LeaseLost):
        await repository.update(row_id, fence="replica-a", state="FAILED", message="stale")
    row = await repository.get(row_id)
    assert (row.state, row.owner) == ("PENDING", "replica-b")
    # Its heartbeat reports the row lost, so the render there stops.
    assert await old.renew([row_id]) == set()


async def test_released_rows_are_claimed_by_another_replica_at_once(
    engines: list[AsyncEngine],
) -> None:
    ids = await _unleased_rows(engines[0], 5)
    leaving = _leases(engines[0], "replica-a")
    assert sorted(await leaving.claim()) == sorted(ids)
    staying = _leases(engines[1], "replica-b")
    assert await staying.claim() == [], "leased rows are not free while their TTL runs"
    await leaving.release(ids[:3])  # what a SIGTERM'd replica does with the work it stops
    assert sorted(await staying.claim()) == sorted(ids[:3])


async def test_the_margin_check_fails_once_renewals_stop_and_holds_while_idle(
    engines: list[AsyncEngine],
) -> None:
    [row_id] = await _unleased_rows(engines[0], 1)
    ttl_s = 0.9
    leases = _leases(engines[0], "replica-a", ttl_s=ttl_s)
    assert await leases.claim() == [row_id]
    held: list[str] = [row_id]
    keeper = LeaseKeeper(leases, held=lambda: held, on_claimed=_ignore, on_lost=_ignore_set)
    await keeper.start()
    try:
        await asyncio.sleep(2 * ttl_s)  # heartbeats renew every TTL/3
        assert leases.safe_for(ttl_s / 3), "a renewing replica may send paid calls"
        held.clear()
        await asyncio.sleep(2 * ttl_s)  # idle: holding nothing, nothing can lapse
        assert leases.safe_for(ttl_s / 3), "an idle replica may send paid calls"
    finally:
        await keeper.stop()
    held.append(row_id)
    await asyncio.sleep(ttl_s)  # no heartbeat any more (a stalled process)
    assert not leases.safe_for(ttl_s / 3), "a replica whose renewals stopped must not pay"


async def test_replicas_creating_the_schema_together_all_succeed(pg_url: str) -> None:
    made = [create_engine(database_url(pg_url, Path("."), "composer")) for _ in range(4)]
    try:
        await asyncio.gather(*(CompositionRepository(e).create_schema() for e in made))
        async with made[0].connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(compositions))
            tables = await conn.scalar(
                text("SELECT count(*) FROM pg_tables WHERE tablename = :name"),
                {"name": compositions.name},
            )
        assert (count, tables) == (0, 1)
    finally:
        for engine in made:
            await engine.dispose()


async def test_listen_reconnects_after_its_connection_is_killed(
    engines: list[AsyncEngine], pg_url: str
) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    reconnects = asyncio.Event()
    listener = PgListener(
        pg_url,
        {"lease_test": heard.put_nowait},
        on_reconnect=reconnects.set,
        retry_s=0.1,
        keepalive_s=0.2,
    )
    await listener.start()
    try:
        await _send(engines[0], "before")
        assert await asyncio.wait_for(heard.get(), 10) == "before"
        killed = await _kill_listeners(pg_url)
        assert killed >= 1
        await asyncio.wait_for(reconnects.wait(), 20)  # watchers re-read what they watch
        await _send(engines[0], "after")
        assert await asyncio.wait_for(heard.get(), 10) == "after"
    finally:
        await listener.aclose()


async def _send(engine: AsyncEngine, payload: str) -> None:
    async with engine.begin() as conn:
        await notify(conn, "lease_test", payload)


async def _kill_listeners(pg_url: str) -> int:
    """Terminates every backend LISTENing on this database, as a failover or idle killer would."""
    conn = await asyncpg.connect(pg_url, timeout=5)
    try:
        deadline = time.monotonic() + 10
        while True:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE 'LISTEN%'"
            )
            if killed or time.monotonic() > deadline:
                return int(killed)
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def _ignore(_ids: list[str]) -> None:
    return None


async def _ignore_set(_ids: set[str]) -> None:
    return None

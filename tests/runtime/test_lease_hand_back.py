"""Leases.hand_back at shutdown: releases what this process held, and when the database is
already gone, says so and lets the leases expire instead of failing the shutdown. LeasedTasks:
a task whose lease another replica took is cancelled without a write; stop hands back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reelforge.runtime.database import create_engine, database_url
from reelforge.runtime.leases import LeasedTasks, Leases
from reelforge.v1 import composer_pb2
from services.composer.repository import CompositionRepository, CompositionRow


@pytest.fixture
async def repository(data_dir: Path) -> AsyncIterator[CompositionRepository]:
    engine = create_engine(database_url(None, data_dir, "composer"))
    repository = CompositionRepository(engine)
    await repository.create_schema()
    yield repository
    await engine.dispose()


def _leases(repository: CompositionRepository, ttl_s: float = 30.0) -> Leases:
    return Leases(
        repository.tables.leased,
        owner="me",
        ttl_s=ttl_s,
        write=repository.write_transaction,
        exclusive=True,
    )


async def test_hand_back_releases_the_rows(repository: CompositionRepository) -> None:
    leases = _leases(repository)
    row = await _row(repository, leases)
    await leases.hand_back([row.id])
    assert await leases.owners([row.id]) == {row.id: None}


async def test_hand_back_on_an_unreachable_database_logs_and_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database file in a directory that does not exist: every connection fails.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'composer.db'}")
    try:
        with caplog.at_level(logging.WARNING, logger="reelforge.runtime.leases"):
            await _leases(CompositionRepository(engine)).hand_back(["a", "b", "c"])
    finally:
        await engine.dispose()
    [record] = [r for r in caplog.records if "could not release" in r.getMessage()]
    assert record.getMessage().startswith("could not release 3 leases (")
    assert record.getMessage().endswith("); they expire")


async def _row(repository: CompositionRepository, leases: Leases) -> CompositionRow:
    request = composer_pb2.ComposeRequest(clips=[composer_pb2.ClipInput(source="x")])
    return await repository.create(request, leases.fresh())


async def _nothing(_ids: list[str]) -> None:
    return None


async def _forever() -> None:
    await asyncio.Event().wait()


async def test_a_lost_lease_cancels_its_task_without_writing(
    repository: CompositionRepository,
) -> None:
    leases = _leases(repository, ttl_s=0.3)  # heartbeats every 0.1 s
    row = await _row(repository, leases)
    tasks = LeasedTasks(leases, what="composition", on_claimed=_nothing)
    await tasks.start()
    tasks.run(row.id, _forever())
    task = tasks.get(row.id)
    assert task is not None
    await repository.update(row.id, owner="other replica")  # it took the row over
    # A deadline so the test fails instead of hanging, not a bound on the heartbeat.
    await asyncio.wait_for(asyncio.wait({task}), 30)

    assert task.cancelled()
    assert row.id not in tasks
    assert await leases.owners([row.id]) == {row.id: "other replica"}  # not written over
    await tasks.stop()


async def test_stopping_leased_tasks_cancels_them_and_hands_the_rows_back(
    repository: CompositionRepository,
) -> None:
    leases = _leases(repository)
    row = await _row(repository, leases)
    tasks = LeasedTasks(leases, what="composition", on_claimed=_nothing)
    tasks.run(row.id, _forever())
    task = tasks.get(row.id)
    await tasks.stop()

    assert task is not None and task.cancelled()
    assert await leases.owners([row.id]) == {row.id: None}

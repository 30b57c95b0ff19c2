"""Leases.hand_back at shutdown: releases what this process held, and when the database is
already gone, says so and lets the leases expire instead of failing the shutdown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from reelforge.runtime.database import create_engine, database_url
from reelforge.runtime.leases import Leases
from reelforge.v1 import composer_pb2
from services.composer.repository import CompositionRepository


def _leases(engine: AsyncEngine) -> Leases:
    repository = CompositionRepository(engine)
    return Leases(
        repository.tables.leased,
        owner="me",
        ttl_s=30.0,
        write=repository.write_transaction,
        exclusive=True,
    )


async def test_hand_back_releases_the_rows(data_dir: Path) -> None:
    engine = create_engine(database_url(None, data_dir, "composer"))
    try:
        repository = CompositionRepository(engine)
        await repository.create_schema()
        leases = _leases(engine)
        request = composer_pb2.ComposeRequest(clips=[composer_pb2.ClipInput(source="x")])
        row = await repository.create(request, leases.fresh())
        await leases.hand_back([row.id])
        assert await leases.owners([row.id]) == {row.id: None}
    finally:
        await engine.dispose()


async def test_hand_back_on_an_unreachable_database_logs_and_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database file in a directory that does not exist: every connection fails.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'composer.db'}")
    try:
        with caplog.at_level(logging.WARNING, logger="reelforge.runtime.leases"):
            await _leases(engine).hand_back(["a", "b", "c"])
    finally:
        await engine.dispose()
    [record] = [r for r in caplog.records if "could not release" in r.getMessage()]
    assert record.getMessage().startswith("could not release 3 leases (")
    assert record.getMessage().endswith("); they expire")

"""Creating a service's tables, or upgrading an older version's in place, and the clock rows use.

Every service calls :func:`upgrade_schema` at start (``StoredWork``): replicas starting together
take turns (an advisory lock on PostgreSQL), missing tables are created, and a table an older
version made gains the columns and indexes added since (``ALTER TABLE … ADD COLUMN``). Changes
that are more than additions (a column's type or meaning) are the service's own migration, run
in the same transaction (``migrate``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reelforge.runtime.leases import add_missing_columns, lock_schema

Migration = Callable[[AsyncConnection], Awaitable[None]]


async def upgrade_schema(
    engine: AsyncEngine, metadata: MetaData, migrate: Migration | None = None
) -> None:
    """Creates ``metadata``'s tables, or upgrades older ones in place (see the module docstring).

    ``migrate`` runs first, on the tables as an older version left them (it checks what it finds).
    """
    tables = metadata.sorted_tables
    async with engine.begin() as conn:
        await lock_schema(conn, tables[0].name)
        if migrate is not None:
            await migrate(conn)
        await conn.run_sync(metadata.create_all)
        for table in tables:
            await add_missing_columns(conn, table)
            # create_all makes indexes only with a new table; an older table gets them here.
            for index in table.indexes:
                await conn.run_sync(index.create, checkfirst=True)


def now_us() -> int:
    """Now, in integer microseconds since the Unix epoch: how every table stores an instant."""
    return time.time_ns() // 1000

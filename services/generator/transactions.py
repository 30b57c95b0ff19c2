"""Write transactions of the generator's database: one at a time on SQLite, with group commit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.generator.group_commit import GroupCommit


class WriteTransactions:
    """Every writer of one database goes through here.

    SQLite fails (not waits) when two transactions upgrade to writing at once, so there they
    run one at a time, and the small writes of many tasks share transactions (``group``).
    PostgreSQL runs them side by side (``group`` is None).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        sqlite = engine.dialect.name == "sqlite"
        self._lock = asyncio.Lock() if sqlite else None
        self.group = GroupCommit(self.begin) if sqlite else None

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (committed when the block ends without an error)."""
        if self._lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._lock, self.engine.begin() as conn:
            yield conn

"""PostgreSQL LISTEN/NOTIFY: a change made by one replica reaches the watchers of every replica.

Writers call ``notify`` inside the transaction that changes a row (PostgreSQL delivers it at
commit, and not at all on rollback); the payload is only the row's id. Every replica keeps one
dedicated asyncpg connection that LISTENs (``PgListener``), re-reads the row on a notification
and publishes the snapshot to its own in-process ``Broadcaster``. On SQLite ``notify`` does
nothing: there is one process, and it publishes in-process already.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from sqlalchemy import URL, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_LOGGER = logging.getLogger(__name__)
_CONNECT_TIMEOUT_S = 5.0
_FIRST_CONNECT_WAIT_S = 10.0

Handler = Callable[[str], None]


async def notify(conn: AsyncConnection, channel: str, payload: str) -> None:
    """Queues a notification in the caller's transaction (PostgreSQL only; a no-op on SQLite)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
        )


def asyncpg_dsn(url: URL) -> str:
    """The plain ``postgresql://`` DSN asyncpg takes, from SQLAlchemy's ``postgresql+asyncpg`` URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def changes_listener(
    database: AsyncEngine, handlers: Mapping[str, Handler], on_reconnect: Callable[[], None]
) -> PgListener | None:
    """The process's LISTEN connection on PostgreSQL; None on SQLite (one process publishes
    in-process already)."""
    if database.dialect.name != "postgresql":
        return None
    return PgListener(asyncpg_dsn(database.url), handlers, on_reconnect=on_reconnect)


class PgListener:
    """One LISTEN connection per process, reconnected whenever it is lost.

    Notifications sent while the connection was down are lost, so ``on_reconnect`` runs after
    every reconnection: the caller re-reads whatever its watchers are waiting on.
    """

    def __init__(
        self,
        dsn: str,
        handlers: Mapping[str, Handler],
        *,
        on_reconnect: Callable[[], None] = lambda: None,
        retry_s: float = 1.0,
        keepalive_s: float = 5.0,
    ) -> None:
        self._dsn = dsn
        self._handlers = dict(handlers)
        self._on_reconnect = on_reconnect
        self._retry_s = retry_s
        self._keepalive_s = keepalive_s
        self._listening = asyncio.Event()
        self._connections = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts listening; waits (briefly) for the first LISTEN so early changes are not missed."""
        self._task = asyncio.create_task(self._run(), name="pg-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), _FIRST_CONNECT_WAIT_S)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_once()
                _LOGGER.warning("LISTEN connection closed; reconnecting")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                _LOGGER.warning("LISTEN connection lost (%s); reconnecting", error)
            self._listening.clear()
            await asyncio.sleep(self._retry_s)

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(self._dsn, timeout=_CONNECT_TIMEOUT_S)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            for channel in self._handlers:
                await conn.add_listener(channel, self._dispatch)
            self._connections += 1
            self._listening.set()
            if self._connections > 1:
                self._on_reconnect()  # changes during the gap were not heard: re-read
            # asyncpg notices a dead server only when it reads: a tiny query now and then does.
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self._keepalive_s)
                if not lost.is_set():
                    await conn.execute("SELECT 1", timeout=self._keepalive_s)
        finally:
            conn.terminate()

    def _dispatch(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        handler = self._handlers.get(channel)
        if handler is None:
            return
        try:
            handler(payload)
        except Exception:
            _LOGGER.exception("handling a notification on %s failed", channel)

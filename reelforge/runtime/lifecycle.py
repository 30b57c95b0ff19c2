"""A service's part in its host's start and stop: what opens, in which order, and every close.

Every service with durable work opens in the same order, so that order is written once here
(:class:`StoredWork`) and a service's ``wiring.py`` only names its parts (docs/ARCHITECTURE.md):

1. the closes of clients built at construction (HTTP sessions, providers: nothing has connected
   yet) and of the database engine are registered;
2. the schema is created, or upgraded in place;
3. the parts the work needs connect (the studio's channels to the other services);
4. the work's stop is registered: at shutdown it runs before any of the above closes;
5. the PostgreSQL listener starts (other replicas' changes reach this process's watchers), then
   background loops (pruning).

Closes run newest first, so loops and the listener stop, then the work (its rows stay leased
for the next process), then parts, clients and the database. A service without durable work
(the planner) only closes its clients (:class:`ClientsOnly`).

What every such service builds alike is built here too: :func:`service_store` makes the
database engine, the repository on it and this process's leases on the repository's work;
:meth:`ServiceStore.stored_work` adds the PostgreSQL listener and returns the lifecycle.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reelforge.runtime.database import DatabaseSettings, service_engine
from reelforge.runtime.leases import LeasedTable, Leases, process_leases
from reelforge.runtime.pg_notify import Handler, PgListener, changes_listener

_LOGGER = logging.getLogger(__name__)

Cleanup = Callable[[], Awaitable[None]]


class Startable(Protocol):
    """Something that starts (connects, spawns its loop) and closes again."""

    def start(self) -> Awaitable[None]: ...

    def aclose(self) -> Awaitable[None]: ...


class StartsAndCloses:
    """``async with thing:`` runs ``start()`` and, on the way out, ``aclose()``."""

    async def start(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


@dataclass(frozen=True)
class Part:
    """A :class:`Startable` from two functions named otherwise (``open``/``close``)."""

    start: Callable[[], Awaitable[None]]
    aclose: Cleanup


class Resources:
    """What a service opened, closed newest first at stop. Every close runs: one that fails is
    logged with its name and the others still run (a database that fails to close must not
    leave workers running)."""

    def __init__(self) -> None:
        self._stack = AsyncExitStack()

    def on_close(self, close: Cleanup) -> None:
        """Registers ``close`` right after the thing it closes was opened."""
        self._stack.push_async_callback(_logged(close))

    async def start(self, part: Startable) -> None:
        """Starts ``part`` and registers its close."""
        await part.start()
        self.on_close(part.aclose)

    async def aclose(self) -> None:
        await self._stack.aclose()


def _logged(close: Cleanup) -> Cleanup:
    async def run() -> None:
        try:
            await close()
        except Exception:
            name = getattr(close, "__qualname__", repr(close))
            _LOGGER.exception("cleanup %s failed; running the others", name)

    return run


class Lifecycle(Protocol):
    """A service's part in the host's start and stop (see the module docstring)."""

    async def open(self, resources: Resources) -> None:
        """Opens databases, listeners, sessions and workers; registers each close as it opens."""

    async def resume(self) -> None:
        """Continues work an earlier process left unfinished; runs once the server serves."""


class Work(Protocol):
    """The background work of a service (its manager, its engine): the rows it holds leases on."""

    async def resume_interrupted(self) -> int:
        """Claims and continues what an earlier process left unfinished; returns how many."""

    async def shutdown(self) -> None:
        """Stops this process's work without marking it and hands its leases back."""


@dataclass(frozen=True)
class StoredWork:
    """The lifecycle of a service whose work lives in its database (see the module docstring)."""

    database: AsyncEngine
    create_schema: Callable[[], Awaitable[None]]
    work: Work
    listener: PgListener | None = None  # PostgreSQL only
    clients: Sequence[Cleanup] = ()
    parts: Sequence[Startable] = ()
    loops: Sequence[Startable] = ()

    async def open(self, resources: Resources) -> None:
        resources.on_close(self.database.dispose)
        for close in self.clients:
            resources.on_close(close)
        await self.create_schema()
        for part in self.parts:
            await resources.start(part)
        resources.on_close(self.work.shutdown)
        for loop in (self.listener, *self.loops):
            if loop is not None:
                await resources.start(loop)

    async def resume(self) -> None:
        await self.work.resume_interrupted()


@dataclass(frozen=True)
class ClientsOnly:
    """The lifecycle of a service without durable work: it closes the clients it built."""

    clients: Sequence[Cleanup]

    async def open(self, resources: Resources) -> None:
        for close in self.clients:
            resources.on_close(close)

    async def resume(self) -> None:
        return None


class Store(Protocol):
    """A service's repository, as far as the shared lifecycle and leases need it."""

    @property
    def leased(self) -> LeasedTable:
        """Which rows are work a replica holds a lease on."""
        ...

    def write_transaction(self) -> AbstractAsyncContextManager[AsyncConnection]: ...

    async def create_schema(self) -> None: ...


_R = TypeVar("_R", bound=Store)


class StoreSettings(DatabaseSettings, Protocol):
    """What :func:`service_store` reads of a service's settings."""

    @property
    def lease_ttl_s(self) -> float:
        """How long a lease lasts unless renewed (every TTL/3)."""
        ...


@dataclass(frozen=True)
class ServiceStore(Generic[_R]):
    """A service's database, its repository and this process's leases on its work."""

    database: AsyncEngine
    repository: _R
    leases: Leases

    def stored_work(
        self,
        work: Work,
        changes: Mapping[str, Handler],
        on_reconnect: Callable[[], None],
        *,
        clients: Sequence[Cleanup] = (),
        parts: Sequence[Startable] = (),
        loops: Sequence[Startable] = (),
    ) -> StoredWork:
        """The lifecycle of ``work``. On PostgreSQL a listener hears the other replicas:
        ``changes`` maps NOTIFY channels to handlers, ``on_reconnect`` re-reads what this
        process's watchers wait on after a lost connection."""
        listener = changes_listener(self.database, changes, on_reconnect)
        create_schema = self.repository.create_schema
        return StoredWork(self.database, create_schema, work, listener, clients, parts, loops)


def service_store(
    settings: StoreSettings, name: str, repository: Callable[[AsyncEngine], _R]
) -> ServiceStore[_R]:
    """The engine of ``name``'s database (DATABASE_URL or DATA_DIR/<name>.db), ``repository``
    on it and this process's leases on its work; opens nothing (the engine connects lazily)."""
    database = service_engine(settings, name)
    store = repository(database)
    leases = process_leases(store.leased, database, store.write_transaction, settings.lease_ttl_s)
    return ServiceStore(database, store, leases)

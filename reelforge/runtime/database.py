"""Async SQLAlchemy engines: SQLite (WAL) in DATA_DIR by default, PostgreSQL when DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_T = TypeVar("_T")
# SQLite allows at most 999 bound variables per statement before 3.32 (32766 after); 500 ids
# per ``IN (...)`` leave room for the statement's other parameters on every version.
IN_LIST_SIZE = 500


def database_url(configured: str | None, data_dir: Path, name: str) -> str:
    """The SQLAlchemy URL: DATABASE_URL (any postgres spelling → asyncpg) or DATA_DIR/<name>.db."""
    if configured:
        for prefix in ("postgres://", "postgresql://"):
            if configured.startswith(prefix):
                return "postgresql+asyncpg://" + configured[len(prefix) :]
        return configured
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{(data_dir / f'{name}.db').resolve()}"


class DatabaseSettings(Protocol):
    """The settings that place a service's database (``ServiceSettings`` has them)."""

    @property
    def database_url(self) -> str | None: ...

    @property
    def data_dir(self) -> Path: ...


def service_engine(settings: DatabaseSettings, name: str) -> AsyncEngine:
    """The engine of a service's database: DATABASE_URL, or DATA_DIR/<name>.db. Connects lazily."""
    return create_engine(database_url(settings.database_url, settings.data_dir, name))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (Get/List/Watch) run while a writer commits; busy_timeout
    # waits for a competing writer instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def chunks(seq: Sequence[_T], size: int = IN_LIST_SIZE) -> list[Sequence[_T]]:
    """``seq`` in consecutive slices of at most ``size``, for ``IN (...)`` lists that SQLite's
    bound-variable limit would otherwise refuse (no slices for an empty ``seq``)."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, not {size}")
    return [seq[start : start + size] for start in range(0, len(seq), size)]

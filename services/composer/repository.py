"""Compositions in the database (SQLAlchemy Core; SQLite or PostgreSQL), tables named with a
configurable prefix (``COMPOSER_TABLE_PREFIX``, default "composer_")."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reelforge.runtime import page_tokens
from reelforge.runtime.errors import NotFound
from reelforge.runtime.leases import LeasedTable, LeaseLost, lease_columns
from reelforge.runtime.pg_notify import notify
from reelforge.runtime.schema import now_us, upgrade_schema
from reelforge.v1 import composer_pb2

DEFAULT_PREFIX = "composer_"
# The output's description: copied from its probe (MediaInfo) when the render completes, and
# into the Composition message, under the same names in all three.
OUTPUT_MEDIA = ("duration_seconds", "size_bytes", "width", "height", "video_codec", "audio_codec")
ACTIVE_STATES = ("PENDING", "DOWNLOADING", "COMPOSING", "OPTIMIZING")
TERMINAL_STATES = ("COMPLETED", "FAILED", "CANCELED")


@dataclass(frozen=True)
class ComposerTables:
    """The composer's tables under one name prefix, and what goes with them."""

    metadata: MetaData
    compositions: Table
    leased: LeasedTable  # which rows are work, for reelforge.runtime.leases
    # PostgreSQL NOTIFY channel: "this composition changed" (payload: its id), for every
    # replica's watchers.
    changes_channel: str


def build_tables(prefix: str) -> ComposerTables:
    """Storage conventions (docs/ARCHITECTURE.md): times in integer microseconds since the
    epoch (``*_us``), states by name."""
    metadata = MetaData()
    compositions = Table(
        f"{prefix}compositions",
        metadata,
        Column("id", String(32), primary_key=True),
        Column("state", String(16), nullable=False),
        Column("percent", Float, nullable=False, default=0.0),
        Column("message", Text, nullable=False, default=""),
        Column("request", LargeBinary, nullable=False),  # the ComposeRequest, serialised
        Column("error", Text, nullable=False, default=""),
        Column("output_id", String(64)),
        Column("output_mime", String(64), nullable=False, default=""),
        Column("duration_seconds", Float, nullable=False, default=0.0),
        Column("size_bytes", BigInteger, nullable=False, default=0),
        Column("width", Integer, nullable=False, default=0),
        Column("height", Integer, nullable=False, default=0),
        Column("video_codec", String(32), nullable=False, default=""),
        Column("audio_codec", String(32), nullable=False, default=""),
        # Bumps on every change; orders snapshots.
        Column("version", Integer, nullable=False, default=1),
        Column("created_us", BigInteger, nullable=False),
        Column("updated_us", BigInteger, nullable=False),
        Column("completed_us", BigInteger),
        # The client's idempotency key (ComposeRequest.request_id); NULL when none was given.
        Column("request_id", String(128)),
        # Subtitle files of the spoken words (artifact ids and sizes), once completed.
        Column("subtitles_srt_id", String(64)),
        Column("subtitles_srt_size_bytes", BigInteger, nullable=False, default=0),
        Column("subtitles_vtt_id", String(64)),
        Column("subtitles_vtt_size_bytes", BigInteger, nullable=False, default=0),
        # Which replica renders it, until when (reelforge.runtime.leases).
        *lease_columns(),
        Index(f"{prefix}compositions_newest", "created_us", "id"),
        Index(f"{prefix}compositions_state", "state"),
        # One composition per key: a replayed Compose finds it, a racing one fails to insert.
        Index(f"{prefix}compositions_request_id", "request_id", unique=True),
    )
    active = compositions.c.state.in_(ACTIVE_STATES)
    leased = LeasedTable(compositions, active, compositions.c.created_us)
    return ComposerTables(metadata, compositions, leased, f"{prefix}changes")


# The tables under the default prefix, for tests and tools that read them directly.
_DEFAULT = build_tables(DEFAULT_PREFIX)
compositions = _DEFAULT.compositions
LEASED = _DEFAULT.leased


@dataclass(frozen=True)
class CompositionRow:
    id: str
    state: str
    percent: float
    message: str
    request: bytes
    error: str
    output_id: str | None
    output_mime: str
    duration_seconds: float
    size_bytes: int
    width: int
    height: int
    video_codec: str
    audio_codec: str
    version: int
    created_us: int
    updated_us: int
    completed_us: int | None
    request_id: str | None = None
    subtitles_srt_id: str | None = None
    subtitles_srt_size_bytes: int = 0
    subtitles_vtt_id: str | None = None
    subtitles_vtt_size_bytes: int = 0
    owner: str | None = None  # the replica holding the lease (None: nobody)
    lease_expires_at: float = 0.0

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


class CompositionRepository:
    """Reads and writes composition rows; every write returns the row as it now is."""

    def __init__(self, engine: AsyncEngine, prefix: str = DEFAULT_PREFIX) -> None:
        self._engine = engine
        self.tables = build_tables(prefix)
        self._table = self.tables.compositions

    @property
    def leased(self) -> LeasedTable:
        """Which rows are work a replica leases: unfinished compositions."""
        return self.tables.leased

    async def create_schema(self) -> None:
        await upgrade_schema(self._engine, self.tables.metadata)

    def write_transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        return self._engine.begin()

    async def create(
        self, request: composer_pb2.ComposeRequest, lease: Mapping[str, Any] | None = None
    ) -> CompositionRow:
        """A new PENDING row (or the one made for the request's request_id)."""
        row, _created = await self.create_once(request, lease)
        return row

    async def create_once(
        self, request: composer_pb2.ComposeRequest, lease: Mapping[str, Any] | None = None
    ) -> tuple[CompositionRow, bool]:
        """A new PENDING row, and True; ``lease`` (owner, expiry) makes it this process's to
        render. With a request_id already used: the row made for it, and False."""
        stamp = now_us()
        values: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "state": "PENDING",
            "percent": 0.0,
            "message": "queued",
            "request": request.SerializeToString(deterministic=True),
            "request_id": request.request_id or None,
            "created_us": stamp,
            "updated_us": stamp,
            **(lease or {}),
        }
        # ON CONFLICT DO NOTHING: a replay, even one racing the first call, inserts nothing.
        dialect_insert = (
            postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        )
        statement = dialect_insert(self._table).values(**values).on_conflict_do_nothing()
        async with self._engine.begin() as conn:
            created = (await conn.execute(statement)).rowcount == 1
            if created:
                await notify(conn, self.tables.changes_channel, values["id"])
        if created:
            return await self.get(values["id"]), True
        existing = await self.find_request(request.request_id)
        if existing is None:  # the conflict was on something else: say so
            raise RuntimeError(f"composition insert conflicted (request_id {request.request_id!r})")
        return existing, False

    async def find_request(self, request_id: str) -> CompositionRow | None:
        """The composition made for a request_id, if any."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(self._table).where(self._table.c.request_id == request_id)
                )
            ).one_or_none()
        return None if row is None else CompositionRow(**row._mapping)

    async def get(self, composition_id: str) -> CompositionRow:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(self._table).where(self._table.c.id == composition_id))
            ).one_or_none()
        if row is None:
            raise NotFound(f"composition {composition_id!r} not found")
        return CompositionRow(**row._mapping)

    async def update(
        self, composition_id: str, *, fence: str | None = None, **values: Any
    ) -> CompositionRow:
        """Applies ``values`` (column=value) and bumps the version.

        With ``fence`` (an owner id) the row must still be leased to that owner, else LeaseLost:
        a replica that lost a render never writes over the replica that took it over.
        """
        stamp = now_us()
        statement = (
            update(self._table)
            .where(self._table.c.id == composition_id)
            .values(**values, updated_us=stamp, version=self._table.c.version + 1)
        )
        if fence is not None:
            statement = statement.where(self._table.c.owner == fence)
        async with self._engine.begin() as conn:
            changed = (await conn.execute(statement)).rowcount == 1
            if changed:
                await notify(conn, self.tables.changes_channel, composition_id)
        if not changed and fence is not None:
            raise LeaseLost(composition_id)
        return await self.get(composition_id)

    async def list(
        self, *, limit: int, after: page_tokens.Position | None, state: str | None
    ) -> list[CompositionRow]:
        """Newest first, at most ``limit``; ``after`` is the (created_us, id) of the last row of the
        previous page."""
        c = self._table.c
        query = select(self._table).order_by(c.created_us.desc(), c.id.desc()).limit(limit)
        if state:
            query = query.where(c.state == state)
        if after is not None:
            query = query.where(page_tokens.past(c.created_us, c.id, after))
        async with self._engine.connect() as conn:
            return [CompositionRow(**row._mapping) for row in await conn.execute(query)]
